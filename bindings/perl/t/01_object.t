# The object interface: every method, every parameter form of new, bad input.
use strict;
use warnings;
use Test::More;
use Storable qw(nfreeze);
use MMF;
use Win32::MMF;

my $name = "mmf-perl-obj.$$";
my $parent = $$;
END { if ($$ == $parent) { MMF->unlink($_) for $name, "$name.list", "$name.hash" } }

# ---- new: named, hashref, list, no arguments ----
my $ns = MMF->new(-namespace => $name, -Size => 1024 * 1024, -TIMEOUT => 5);
ok($ns, 'named parameters, case-insensitive') or BAIL_OUT($@);
isa_ok(MMF->new({ NameSpace => "$name.hash", size => 256 * 1024 }), 'MMF', 'a hashref');
isa_ok(MMF->new("$name.list", 256 * 1024, undef, 0), 'MMF', 'a list');
isa_ok(Win32::MMF->new(-namespace => $name, -reuse => 1), 'Win32::MMF', 'the original name');
{
    MMF->unlink('shareable');
    my $default = MMF->new;
    ok($default && -e '/dev/shm/shareable', 'no arguments: the default namespace "shareable"');
    undef $default;
    MMF->unlink('shareable');
}
my $swap = "/tmp/mmf-perl-$$.swp";
{
    my $f = MMF->new(-namespace => 'Swapped', -swapfile => $swap, -size => 256 * 1024);
    ok($f && -e $swap && $f->stats->{size} == 256 * 1024,
       '-swapfile: a backing file, of the size asked in use');
    ok((stat $swap)[12] * 512 >= 256 * 1024 && (stat $swap)[12] * 512 < -s $swap,
       '... allocated, in a sparse file as long as the most it may grow to');
    $f->setvar('k', 'in the file');
    undef $f; # the handle closes itself
    my $again = MMF->new(-namespace => 'Swapped', -swapfile => $swap, -reuse => 1);
    is($again->getvar('k'), 'in the file', 'the swapfile keeps its variables');
    ok(MMF->unlink(undef, $swap) && !-e $swap, 'unlink removes it');
}
{
    local $@;
    my $none = MMF->new(-namespace => "absent.$$", -reuse => 1);
    ok(!defined $none, '-reuse of a missing namespace: undef');
    like($@, qr/no such namespace/, '... and $@ says why');
}
for my $bad (
    [ [-bogus => 1], qr/unknown parameter '-bogus'/ ],
    [ [-namespace => 'x', '-size'], qr/pairs/ ],
    [ [{ namespace => 'x', colour => 'red' }], qr/unknown parameter 'colour'/ ],
    [ [-namespace => 'x', -size => 'big'], qr/size must be a number/ ],
    [ [-namespace => 'x', -timeout => -1], qr/timeout must be a number/ ],
    [ [-namespace => 'bad/name'], qr/invalid namespace/ ],
    [ [1, 2, 3, 4, 5], qr/at most/ ],
) {
    eval { MMF->new(@{$bad->[0]}) };
    like($@, $bad->[1], "new croaks: $bad->[1]");
}

# ---- setvar, getvar, deletevar, findvar ----
ok($ns->setvar('greeting', 'Hello world'), 'setvar');
is($ns->getvar('greeting'), 'Hello world', 'getvar: the bytes');
ok($ns->setvar('greeting', ''), 'set to an empty string');
ok($ns->findvar('greeting'), '... keeps the variable');
is($ns->getvar('greeting'), '', '... with nothing in it');
ok($ns->setvar('greeting', undef), 'set to undef');
ok(!$ns->findvar('greeting'), '... deletes it');
is($ns->getvar('greeting'), undef, 'a missing variable reads undef');
$ns->setvar('gone', 1);
ok($ns->deletevar('gone') && !$ns->findvar('gone'), 'deletevar');
ok(!$ns->deletevar('gone'), 'deletevar of a missing variable: 0');

my $struct = { Name => 'Roger', Module => 'Win32::MMF', list => [1, 2, { x => 3 }] };
$ns->setvar('struct', $struct);
is_deeply($ns->getvar('struct'), $struct, 'a reference goes through Storable');
$ns->setvar('several', 'a', [1], { b => 2 });
is_deeply([$ns->getvar('several')], ['a', [1], { b => 2 }], 'several values come back as a list');
my $looks_frozen = nfreeze({ a => 1 });
$ns->setvar('fake', $looks_frozen);
is($ns->getvar('fake'), $looks_frozen, 'bytes that look like Storable stay bytes');
$ns->setvar('number', 42);
is($ns->getvar('number'), '42', 'a number is stored as its text');
my $wide = "caf\x{e9} \x{263a}";
$ns->setvar('chars', $wide);
my $back = $ns->getvar('chars');
utf8::decode($back);
is($back, $wide, 'characters are stored as their UTF-8 bytes');
my $long = 'k' x 255;
ok($ns->setvar($long, 'x'), 'a 255-byte name');
eval { $ns->setvar('k' x 256, 'x') };
like($@, qr/longer than 255/, 'a longer name croaks');
eval { $ns->getvar('') };
like($@, qr/variable name is needed/, 'an empty name croaks');

# ---- lock ----
is($ns->lock(1), 1, 'lock: 1');
my $pid = fork();
if (!$pid) {
    my $other = MMF->new(-namespace => $name, -reuse => 1, -timeout => 0.2);
    exit($other->lock(0.2) == 0 && !$other->setvar('during', 1) ? 0 : 1);
}
waitpid($pid, 0);
is($?, 0, 'another process: lock times out (0) and writes wait, then fail');
is($ns->unlock, 1, 'unlock: 1');
{
    my $manual = MMF->new(-namespace => $name, -reuse => 1, -autolock => 0);
    ok(!$manual->setvar('m', 1), 'autolock off: a write without the lock fails');
    like($@, qr/lock is not held/, '... and says why');
    ok($manual->lock && $manual->setvar('m', 1) && $manual->unlock, '... and works under it');
}

# ---- debug ----
my $dump = $ns->debug;
like($dump, qr/heap blocks:/, 'debug: the heap');
like($dump, qr/\bstruct\b/, 'debug: the variable table');

# ---- beyond the original ----
my $v = $ns->version('number');
ok($v > 0, 'version of a variable');
is($ns->version('nothing'), 0, 'version of a missing one: 0');
is($ns->cas('number', $v, 43), 1, 'cas with the current version');
is($ns->cas('number', $v, 44), 0, 'cas with an old one: 0');
is($ns->getvar('number'), '43', '... and nothing changed');
is($ns->add('hits', 5), 5, 'add creates a counter');
is($ns->add('hits', -2), 3, 'add');
is(unpack('q', $ns->getvar('hits')), 3, 'a counter is a native 64-bit integer');
eval { $ns->add('hits', 'lots') };
like($@, qr/whole number/, 'add with a bad delta croaks');
eval { $ns->cas('number', 'v1', 1) };
like($@, qr/version must be a number/, 'cas with a bad version croaks');
is($ns->wait('number', $ns->version('number'), 0.1), 0, 'wait: 0 on timeout');
$pid = fork();
if (!$pid) {
    select(undef, undef, undef, 0.2);
    MMF->new(-namespace => $name, -reuse => 1)->setvar('number', 'changed');
    exit 0;
}
is($ns->wait('number', $ns->version('number'), 10), 1, 'wait: 1 when another process writes');
waitpid($pid, 0);
is($ns->getvar('number'), 'changed', '... and the change is there');
my %names = map { $_ => 1 } $ns->keys;
ok($names{struct} && $names{hits} && !$names{gone}, 'keys');
my %seen;
while (my ($k, $val) = $ns->each) { $seen{$k} = $val }
is_deeply($seen{struct}, $struct, 'each: names and values');
is(scalar(keys %seen), scalar(keys %names), 'each: all of them');
my $st = $ns->stats;
ok($st->{vars} >= 8 && $st->{size} == 1024 * 1024, 'stats');
my ($whole, $report) = $ns->check;
ok($whole, 'check') or diag $report;
like($report, qr/^ok:/, 'check: the report');

done_testing;
