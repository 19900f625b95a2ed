# The functional interface, every function, with its Linux meaning;
# semaphores across processes, with timeouts.
use strict;
use warnings;
use Test::More;
use Storable qw(freeze);
use Time::HiRes qw(time);
use MMF;
use Win32::MMF qw(:all);

my $name = "mmf-perl-fn.$$";
my $dir = "/tmp/mmf-perl-fn.$$";
my $parent = $$;
mkdir $dir or die;
END { if ($$ == $parent) { MMF->unlink($_) for $name, "$name.file", 'MyDataShare';
                           MMF->unlink(undef, "$dir/data.swp"); MMF->unlink(undef, "$dir/f.swp");
                           rmdir $dir } }

sub in_child (&) {
    my $code = shift;
    my $pid = fork() // die;
    if (!$pid) {
        my $ok = eval { $code->(); 1 };
        print STDERR $@ if !$ok;
        require POSIX;
        POSIX::_exit($ok ? 0 : 1);
    }
    return $pid;
}
sub reap { waitpid($_[0], 0); return $? == 0 }

# bytes a namespace in a swapfile has in use (its file is sparse, as long
# as the most it may grow to)
sub in_use {
    my ($namespace, $swapfile) = @_;
    my $ns = Win32::MMF->new(-namespace => $namespace, -swapfile => $swapfile, -reuse => 1);
    return $ns ? $ns->stats->{size} : -1;
}

# ---- the documentation's sample ----
{
    chdir $dir or die;
    my ($swap, $ns, $view) = (0, 0, 0);
    $ns = UseNamespace("MyDataShare");
    ok(!$ns, 'UseNamespace of a namespace nobody has: false');
    ($swap, $ns) = ClaimNamespace("data.swp", "MyDataShare", 2 * 1024 * 1024) if !$ns;
    ok($swap, 'ClaimNamespace: a swapfile handle');
    ok($ns, '... and a namespace handle');
    ok(-e "data.swp" && in_use("MyDataShare", "data.swp") == 2 * 1024 * 1024,
       '... the swapfile, of the size asked in use');
    $view = MapViewOfFile($ns, 0, 1000);
    ok($view, 'MapViewOfFile');
    ok(SetVar($view, 'greeting', 0, 'Hello world', 5), 'SetVar');
    is(GetVar($view, 'greeting'), 'Hello', 'GetVar: the first $size bytes');
    my $again = UseNamespace("MyDataShare");
    ok($again, 'UseNamespace finds it in this process, swapfile and all');
    is(GetVar(MapViewOfFile($again, 0, 0), 'greeting'), 'Hello', '... the same namespace');
    CloseHandle($again);
    UnmapViewOfFile($view);
    ReleaseNamespace($swap, $ns);
    ok(!UseNamespace("MyDataShare"), 'ReleaseNamespace closes it');
    ok(-e "data.swp", '... and the swapfile stays');
    my ($swap2, $ns2) = ClaimNamespace("data.swp", "MyDataShare", 2 * 1024 * 1024);
    is(GetVar(MapViewOfFile($ns2, 0, 1000), 'greeting'), 'Hello', 'claimed again: the variable is there');
    ReleaseNamespace($swap2, $ns2);
    chdir '/';
}

# ---- namespaces, files, mappings, views ----
{
    ok(!defined OpenFile("$dir/none.swp"), 'OpenFile of a missing file: undef');
    ok($!{ENOENT}, '... $! says so');
    my $file = CreateFile("$dir/f.swp");
    ok($file, 'CreateFile');
    ok(!-e "$dir/f.swp", '... makes no file yet: CreateFileMapping does');
    ok(!defined CreateFile("/nonexistent-dir.$$/x.swp"), 'CreateFile in a missing directory: undef');
    my $map = CreateFileMapping($file, 64 * 1024, "$name.file");
    ok($map, 'CreateFileMapping on a file handle');
    ok(-e "$dir/f.swp" && in_use("$name.file", "$dir/f.swp") == 64 * 1024, '... makes the swapfile');
    my $v = MapViewOfFile($map, 0, 64 * 1024);
    SetVar($v, 'k', 0, 'in the file');
    ok(CloseHandle($v) && CloseHandle($map) && CloseHandle($file), 'CloseHandle: view, mapping, file');
    ok(!CloseHandle($file), 'CloseHandle of a closed handle: 0');
    my $f2 = OpenFile("$dir/f.swp");
    ok($f2, 'OpenFile of an existing swapfile');
    my $m2 = CreateFileMapping($f2, 0, "$name.file");
    is(GetVar(MapViewOfFile($m2, 0, 0), 'k'), 'in the file', 'CreateFileMapping opens the namespace in it');
    CloseHandle($_) for $m2, $f2;

    my $shm = CreateFileMapping(0, 128 * 1024, $name);
    ok($shm && -e "/dev/shm/$name", 'CreateFileMapping(0, ...): in shared memory');
    my $opened = in_child {
        my $m = OpenFileMapping($name) or die 'OpenFileMapping in another process';
        my $view = MapViewOfFile($m, 0, 0) or die 'MapViewOfFile';
        SetVar($view, 'from.child', 0, 'hi', 2) or die 'SetVar';
    };
    ok(reap($opened), 'OpenFileMapping in another process, and SetVar there');
    my $view = MapViewOfFile($shm, 0, 0);
    is(GetVar($view, 'from.child'), 'hi', '... seen here');
    ok(!OpenFileMapping("$name.absent"), 'OpenFileMapping of a missing namespace: false');
    ok(!MapViewOfFile(0, 0, 0), 'MapViewOfFile of no handle: false');
    ok(UnmapViewOfFile(MapViewOfFile($shm, 0, 0)), 'UnmapViewOfFile: 1');
    ok(!UnmapViewOfFile($shm), '... of a mapping (not a view): 0');

    # ---- variables on a view ----
    ok(!FindVar($view, 'v'), 'FindVar of a missing variable: 0');
    is(CreateVar($view, 'v'), 1, 'CreateVar');
    is(FindVar($view, 'v'), 1, '... FindVar: 1');
    is(GetVar($view, 'v'), '', '... empty');
    is(GetVarType($view, 'v'), 0, '... plain');
    SetVar($view, 'v', 0, 'kept');
    is(CreateVar($view, 'v'), 1, 'CreateVar of an existing one: 1');
    is(GetVar($view, 'v'), 'kept', '... keeps its value');
    my $frozen = freeze({ Name => 'Roger' });
    ok(SetVar($view, 'complex', 1, $frozen, length $frozen), 'SetVar type 1: Storable data');
    is(GetVarType($view, 'complex'), 1, 'GetVarType: 1');
    is(GetVar($view, 'complex'), $frozen, 'GetVar: the frozen bytes');
    my $obj = Win32::MMF->new(-namespace => $name, -reuse => 1);
    is_deeply($obj->getvar('complex'), { Name => 'Roger' }, 'getvar thaws what SetVar stored as type 1');
    $obj->setvar('struct', [1, 2]);
    is(GetVarType($view, 'struct'), 1, 'GetVarType of what setvar froze: 1');
    ok(!defined GetVarType($view, 'none'), 'GetVarType of a missing variable: undef');
    ok(!defined GetVar($view, 'none'), 'GetVar of a missing variable: undef');
    is(GetVar($obj, 'v'), 'kept', 'the variable functions take an MMF object too');
    is(DeleteVar($view, 'v'), 1, 'DeleteVar: 1');
    is(DeleteVar($view, 'v'), 0, '... of a missing variable: 0');
    my $dump = do {
        open my $fh, '>', \my $buf or die;
        my $old = select $fh;
        DumpHeap($view);
        select $old;
        $buf;
    };
    like($dump, qr/heap blocks:.*\bcomplex\b/s, 'DumpHeap prints the dump');
    is(InitMMF($view, 128 * 1024), 1, 'InitMMF');
    is_deeply([$obj->keys], [], '... empties the namespace');
    undef $obj;

    for my $f (\&Malloc, \&Free) {
        eval { $f->($view, 16) };
        like($@, qr/^(Malloc|Free) has no meaning on Linux .*: use \S+/, 'croaks in one line: ' . ($@ =~ /^(\w+)/)[0]);
        unlike($@, qr/\n.+/, '... one line');
    }
    eval { GetVar(12345, 'x') };
    like($@, qr/is not a view/, 'a variable function on a bad handle croaks');

    is(GetDebugMode(), 0, 'GetDebugMode: 0 at first');
    SetDebugMode(1);
    is(GetDebugMode(), 1, 'SetDebugMode(1)');
    SetDebugMode(0);
    is(GetDebugMode(), 0, 'SetDebugMode(0)');
    CloseHandle($_) for $view, $shm;
}

# ---- semaphores ----
{
    my $sn = "mmf-perl-sem.$$";
    ok(!defined CreateSemaphore(-1, 1, $sn), 'CreateSemaphore with a negative count: undef');
    ok(!defined CreateSemaphore(0, 0, $sn), '... with a maximum of 0: undef');
    my $sem = CreateSemaphore(0, 2, $sn);
    ok($sem, 'CreateSemaphore(0, 2, name)');
    ok(-e "/dev/shm/sem.$sn", '... a named POSIX semaphore');
    my $t0 = time;
    is(WaitForSingleObject($sem, 150), WAIT_TIMEOUT, 'WaitForSingleObject times out: 0 (WAIT_TIMEOUT)');
    ok(time - $t0 >= 0.14, '... after the milliseconds asked');
    is(WaitForSingleObject($sem, 0), 0, '... with 0: only tries');

    pipe(my $r, my $w) or die;
    my $kid = in_child {
        close $r;
        my $s = CreateSemaphore(0, 2, $sn) or die 'CreateSemaphore in the child';
        syswrite $w, "waiting\n";
        WaitForSingleObject($s, INFINITE) == WAIT_OBJECT_0 or die 'INFINITE wait';
        my $t = time;
        die 'second wait should time out' if WaitForSingleObject($s, 200) != 0;
        die 'timed out too early' if time - $t < 0.19;
        WaitForSingleObject($s, 10_000) == 1 or die 'third wait';
        CloseHandle($s);
    };
    close $w;
    is(scalar <$r>, "waiting\n", 'another process opens it and waits (INFINITE)');
    select(undef, undef, undef, 0.1);
    is(ReleaseSemaphore($sem, 1), 1, 'ReleaseSemaphore: 1');
    select(undef, undef, undef, 0.6);
    is(ReleaseSemaphore($sem, 1), 1, '... again, after the other timed out once');
    ok(reap($kid), 'the other process got it twice and timed out between (all its checks)');
    is(ReleaseSemaphore($sem, 2), 1, 'ReleaseSemaphore up to the maximum: 1');
    is(ReleaseSemaphore($sem, 1), 0, '... past it: 0');
    is(WaitForSingleObject($sem, 0), WAIT_OBJECT_0, 'WaitForSingleObject: 1 (WAIT_OBJECT_0)');
    ok(!defined ReleaseSemaphore($sem, 0), 'ReleaseSemaphore of 0: undef');
    ok(!defined WaitForSingleObject(0, 10), 'WaitForSingleObject of no handle: undef');
    ok(CloseHandle($sem), 'CloseHandle of the semaphore');
    ok(!-e "/dev/shm/sem.$sn", '... the last handle: the semaphore is gone');

    # one whose users died starts again from its initial count
    pipe($r, $w) or die;
    $kid = in_child {
        close $r;
        my $s = CreateSemaphore(1, 1, $sn) or die;
        WaitForSingleObject($s, 0) == 1 or die;
        syswrite $w, "holding\n";
        sleep 60;
    };
    close $w;
    is(scalar <$r>, "holding\n", 'a process takes a semaphore');
    my $held = CreateSemaphore(1, 1, $sn);
    is(WaitForSingleObject($held, 50), 0, '... while it lives, the count it left stands');
    CloseHandle($held);
    kill 'KILL', $kid;
    waitpid($kid, 0);
    my $fresh = CreateSemaphore(1, 1, $sn);
    is(WaitForSingleObject($fresh, 0), 1, 'it was killed: the next opener starts from the initial count');
    CloseHandle($fresh);
    ok(!-e "/dev/shm/sem.$sn", '... and closing removes it');

    my $anon = CreateSemaphore(1, 1);
    ok($anon && WaitForSingleObject($anon, 0) == 1, 'an unnamed semaphore');
    CloseHandle($anon);
    ok(!(grep { /^sem\.mmf-unnamed\.$$\./ } do { opendir my $d, '/dev/shm'; readdir $d }),
       '... gone when closed');
}

done_testing;
