# Windows lifetime (needs the C library's `transient` namespaces): the
# original's examples and synopses run twice in a row with the same output
# and leave nothing in /dev/shm; transient namespaces across processes.
use strict;
use warnings;
use Test::More;
use MMF;
use Win32::MMF;

my $examples = $ENV{MMF_PERL_EXAMPLES} or plan skip_all => 'MMF_PERL_EXAMPLES is not set';
my $lib = $ENV{MMF_PERL_LIB} or plan skip_all => 'MMF_PERL_LIB is not set';
my $shm = '/dev/shm';

# the script, unchanged, with STDOUT unbuffered so that the lines of two
# processes come in the order they were printed; the same hash order on
# every run (Data::Dumper and Storable print hashes in it)
sub run_script {
    my $script = shift;
    local $ENV{PERL_HASH_SEED} = 0;
    local $ENV{PERL_PERTURB_KEYS} = 0;
    local $SIG{ALRM} = sub { die "timed out\n" };
    alarm 60;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT or die;
        exec $^X, "-I$lib", '-e', '$| = 1; do $ARGV[0]; die $@ if $@', "$examples/$script";
        die "exec: $!";
    }
    my $out = do { local $/; <$fh> };
    close $fh;
    alarm 0;
    return ($out, $?);
}

sub leftovers { my @n = grep { -e "$shm/$_" } @_; return "@n" }

for my $case (
    [ 'example1.pl', ['MyNamespace'] ],
    [ 'example2.pl', ['shareable'] ],
    [ 'synopsis.pl', ['shareable'] ],
    [ 'shareable_synopsis.pl', ['shareable'] ],
) {
    my ($script, $names) = @$case;
    MMF->unlink($_) for @$names;
    my @out;
    for my $run (1, 2) {
        my ($out, $status) = run_script($script);
        is($status, 0, "$script, run $run: runs") or diag $out;
        is(leftovers(@$names), '', "$script, run $run: nothing left in $shm");
        $out =~ s/created \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/created (time)/g;
        push @out, $out;
    }
    if ($script eq 'example2.pl') { # two processes: their lines interleave
        for my $run (0, 1) {
            my @l = split /\n/, $out[$run];
            my %at = map { $l[$_] => $_ } 0 .. $#l;
            ok(defined $at{'PROC2 GOT SIGNAL 1'} && defined $at{'PROC1 SEND SIGNAL 1'}
               && $at{'PROC1 SEND SIGNAL 1'} < $at{'PROC2 GOT SIGNAL 1'}
               && $at{'PROC2 SEND SIGNAL 2'} < $at{'PROC1 SEND SIGNAL 1'},
               "example2.pl, run @{[$run + 1]}: signal 1 is got after it was sent, 2 before 1")
                or diag $out[$run];
        }
        is(join("\n", sort split /\n/, $out[1]), join("\n", sort split /\n/, $out[0]),
           "$script: the same lines on both runs");
    } else {
        is($out[1], $out[0], "$script: the same output on both runs");
    }
    MMF->unlink($_) for @$names;
}

# ---- transient across processes ----
my $base = "mmf-perl-transient.$$";
my $parent = $$;
END { if ($$ == $parent) { MMF->unlink("$base.$_") for qw(a b c d e f) } }

sub child (&) { # runs code in a child; its exit status
    my $code = shift;
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        my $ok = eval { $code->(); 1 };
        print STDERR $@ if !$ok;
        require POSIX;
        POSIX::_exit($ok ? 0 : 1);
    }
    waitpid($pid, 0);
    return $? >> 8;
}

{   # closed by all
    my $ns = Win32::MMF->new(-namespace => "$base.a") or die $@;
    $ns->setvar('k', 'v');
    ok(-e "$shm/$base.a", 'a Win32::MMF namespace without a swapfile is in /dev/shm while open');
    is(child { my $o = Win32::MMF->new(-namespace => "$base.a", -reuse => 1) or die $@;
               die 'not seen' if $o->getvar('k') ne 'v' }, 0, 'another process attaches and reads');
    ok(-e "$shm/$base.a", '... and leaves: the namespace stays while this one has it');
    undef $ns;
    ok(!-e "$shm/$base.a", 'the last process closes it: it is gone');
    ok(!Win32::MMF->new(-namespace => "$base.a", -reuse => 1), '... and -reuse finds none');
}
{   # killed while attached
    pipe(my $r, my $w) or die;
    my $pid = fork() // die;
    if (!$pid) {
        close $r;
        my $o = Win32::MMF->new(-namespace => "$base.b") or die $@;
        $o->setvar('alive', 'yes');
        syswrite $w, "ready\n";
        sleep 60;
        require POSIX;
        POSIX::_exit(0);
    }
    close $w;
    my $line = <$r>;
    is($line, "ready\n", 'a process creates a transient namespace');
    kill 'KILL', $pid;
    waitpid($pid, 0);
    ok(!Win32::MMF->new(-namespace => "$base.b", -reuse => 1),
       'it is killed while attached: -reuse finds no namespace');
    my $fresh = Win32::MMF->new(-namespace => "$base.b") or die $@;
    ok(!defined $fresh->getvar('alive'), '... and opening creates it afresh');
    undef $fresh;
    ok(!-e "$shm/$base.b", '... which goes with its last process');
}
{   # two attached, one leaves
    my $ns = Win32::MMF->new(-namespace => "$base.c") or die $@;
    is(child { my $o = Win32::MMF->new(-namespace => "$base.c") or die $@; $o->setvar('from', 'child') },
       0, 'a second process attaches, writes and leaves');
    is($ns->getvar('from'), 'child', 'the one still attached keeps the variables');
    my $again = Win32::MMF->new(-namespace => "$base.c", -reuse => 1);
    ok($again && $again->getvar('from') eq 'child', '... and so does a new opener');
    undef $again;
    undef $ns;
    ok(!-e "$shm/$base.c", 'then the last one leaves: gone');
}
{   # the native class with -transient
    my $ns = MMF->new(-namespace => "$base.d", -transient => 1) or die $@;
    ok(-e "$shm/$base.d", 'MMF -transient: there while open');
    undef $ns;
    ok(!-e "$shm/$base.d", '... gone when closed');
}
{   # tied variables in a child: the default namespace goes with it
    is(child { require Win32::MMF::Shareable;
               tie my $s, 'Win32::MMF::Shareable', 'x', { namespace => "$base.e" };
               $s = 1; die 'absent' if !-e "$shm/$base.e" }, 0, 'a child ties a variable');
    # it left with POSIX::_exit, as a killed process would: nobody closed it, so
    # the next opener finds no live process attached and none is there
    ok(!Win32::MMF->new(-namespace => "$base.e", -reuse => 1),
       '... and when it exits, its Win32::MMF::Shareable namespace is gone');
    ok(!-e "$shm/$base.e", '... and the next look removed what it left');
}

done_testing;
