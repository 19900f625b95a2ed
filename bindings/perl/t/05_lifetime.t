# What persists: MMF namespaces (mmf's default) and Win32::MMF namespaces in
# a swapfile outlive every process; -transient is an option of both.
use strict;
use warnings;
use Test::More;
use MMF;
use Win32::MMF;

my $base = "mmf-perl-life.$$";
my $swap = "/tmp/mmf-perl-life.$$.swp";
my $parent = $$;
END { if ($$ == $parent) { MMF->unlink("$base.$_") for qw(a b); MMF->unlink(undef, $swap) } }

{
    my $ns = MMF->new(-namespace => "$base.a") or die $@;
    $ns->setvar('k', 'kept');
    undef $ns;
    ok(-e "/dev/shm/$base.a", 'MMF: a namespace stays after its last process closes it');
    my $again = MMF->new(-namespace => "$base.a", -reuse => 1);
    is($again && $again->getvar('k'), 'kept', '... with its variables');
    undef $again;
    my $explicit = MMF->new({ namespace => "$base.a", transient => 0, reuse => 1 });
    ok($explicit, 'transient => 0 is an option');
    undef $explicit;
    ok(MMF->unlink("$base.a") && !-e "/dev/shm/$base.a", 'MMF->unlink removes it');
}
{
    my $ns = Win32::MMF->new(-namespace => "$base.b", -swapfile => $swap, -size => 64 * 1024) or die $@;
    $ns->setvar('k', 'in the file');
    undef $ns;
    ok(-e $swap && (stat $swap)[12] * 512 >= 64 * 1024, 'Win32::MMF with a swapfile: the file stays');
    my $again = Win32::MMF->new(-namespace => "$base.b", -swapfile => $swap, -reuse => 1);
    is($again && $again->getvar('k'), 'in the file', '... with its variables, as on Windows');
    ok(!-e "/dev/shm/$base.b", '... and nothing is in /dev/shm');
}
is(Win32::MMF->_transient_default({ swapfile => undef }), 1, 'Win32::MMF without a swapfile: transient');
is(Win32::MMF->_transient_default({ swapfile => $swap }), 0, 'Win32::MMF with one: persistent');
is(MMF->_transient_default({ swapfile => undef }), 0, 'MMF: persistent either way');
eval { MMF->new(-namespace => "$base.x", -transient => 1, -bogus => 1) };
like($@, qr/unknown parameter '-bogus'.*-transient/, 'the parameter list names -transient');

done_testing;
