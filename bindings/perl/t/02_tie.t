# The tied interface: scalars, arrays and hashes, each element its own
# variable, seen across processes.
use strict;
use warnings;
use Test::More;
use MMF;

my $name = "mmf-perl-tie.$$";
my $parent = $$;
END { MMF->unlink($name) if $$ == $parent }
MMF->unlink($name);

# defaults at use time, as the original allows
require MMF::Shareable;
MMF::Shareable->import({ namespace => $name, size => 2 * 1024 * 1024 });

sub in_child (&) {
    my $code = shift;
    my $pid = fork();
    if (!$pid) {
        my $ok = eval { $code->(); 1 };
        print STDERR $@ if !$ok;
        require POSIX;
        POSIX::_exit($ok ? 0 : 1);
    }
    waitpid($pid, 0);
    return $? == 0;
}

my $ns = MMF->new(-namespace => $name, -size => 2 * 1024 * 1024) or BAIL_OUT($@);

# ---- scalars ----
tie my $s, 'MMF::Shareable', 'scalar.1';
$s = 'Hello world';
is($ns->getvar('scalar.1'), 'Hello world', 'a tied scalar is the variable of its label');
ok(in_child { tie my $t, 'MMF::Shareable', 'scalar.1'; die "saw $t" if $t ne 'Hello world'; $t = 'from the child' },
   'another process reads and writes it');
is($s, 'from the child', '... and this one sees the write');
$s = { deep => [1, 2, 3] };
is_deeply($s, { deep => [1, 2, 3] }, 'a reference through a tied scalar');
tie my $ipc, 'MMF::Shareable', { key => 'scalar.1', create => 1, exclusive => 0, mode => 0644, destroy => 0 };
is_deeply($ipc, { deep => [1, 2, 3] }, 'IPC::Shareable options: key is the label, the rest ignored');

# ---- arrays ----
tie my @a, 'MMF::Shareable', 'list';
@a = qw(A B C);
is_deeply([@a], [qw(A B C)], 'list assignment');
is(scalar(@a), 3, 'length');
is($ns->getvar('list[1]'), 'B', 'each element is its own variable');
is($ns->getvar('list[#]'), 3, '... and the length too');
push @a, 'D', 'E';
is(pop @a, 'E', 'push and pop');
is(shift @a, 'A', 'shift');
unshift @a, 'Z';
is_deeply([@a], [qw(Z B C D)], 'unshift');
my @removed = splice(@a, 1, 2, 'x', 'y', 'z');
is_deeply(\@removed, [qw(B C)], 'splice removes');
is_deeply([@a], [qw(Z x y z D)], 'splice inserts');
$a[7] = 'far';
is(scalar(@a), 8, 'a store past the end grows it');
ok(!exists $a[6] && exists $a[7], 'exists');
is(delete $a[7], 'far', 'delete');
$#a = 2;
is_deeply([@a], [qw(Z x y)], 'shrinking with $#a');
ok(!$ns->findvar('list[3]'), '... frees the elements past the end');
ok(in_child { tie my @b, 'MMF::Shareable', 'list'; push @b, 'child' }, 'a push from another process');
is($a[-1], 'child', '... is seen here');
$a[1] = [1, { two => 2 }];
is_deeply($a[1], [1, { two => 2 }], 'a reference as an element');
@a = ();
is(scalar(@a), 0, 'clear');

# ---- hashes ----
tie my %h, 'MMF::Shareable', 'conf';
%h = (threads => 4, name => 'mmf', list => [1, 2]);
is($h{threads}, 4, 'fetch');
is($ns->getvar('conf{name}'), 'mmf', 'each value is its own variable');
is_deeply([sort keys %h], [qw(list name threads)], 'keys');
ok(exists $h{name} && !exists $h{nope}, 'exists');
is(delete $h{name}, 'mmf', 'delete');
ok(!$ns->findvar('conf{name}'), '... removes the variable');
ok(in_child { tie my %g, 'MMF::Shareable', 'conf'; $g{from} = 'child'; delete $g{threads} },
   'another process changes the hash');
is_deeply([sort keys %h], [qw(from list)], '... and this one sees it');
is(scalar(%h), 2, 'scalar(%h)');
%h = ();
is(scalar(keys %h), 0, 'clear');

# ---- atomic across processes ----
tie my @counter, 'MMF::Shareable', 'pushes';
my @kids = map { fork() || do { tie my @c, 'MMF::Shareable', 'pushes'; push @c, $$ for 1 .. 50; require POSIX; POSIX::_exit(0) } } 1 .. 4;
waitpid($_, 0) for @kids;
is(scalar(@counter), 200, '4 processes push 50 each: 200, none lost');
my $tied = tied @counter;
ok($tied->shlock && $tied->shunlock, 'shlock / shunlock');

# ---- the original names ----
require Win32::MMF::Shareable;
tie my $w, 'Win32::MMF::Shareable', 'scalar.1', { namespace => $name };
is_deeply($w, { deep => [1, 2, 3] }, 'Win32::MMF::Shareable ties the same variables');

eval { tie my $bad, 'MMF::Shareable' };
like($@, qr/a label is needed/, 'tie without a label croaks');

done_testing;
