# The XS fast path (getvar, setvar, tied FETCH and STORE) gives exactly the
# bytes, tags and Storable values the all-Perl path gives, both ways.
use strict;
use warnings;
use Test::More;
use MMF;
use MMF::Shareable;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my $name = "mmf-perl-fast.$$";
my $parent = $$;
END { if ($$ == $parent) { MMF->unlink($_) for $name, "$name.small" } }
my $ns = MMF->new(-namespace => $name, -size => 4 * 1024 * 1024) or BAIL_OUT($@);

sub raw { my ($rc, $bytes, undef, $tag) = MMF::_get($ns->{h}, $_[0]); return $rc ? "rc $rc" : [$bytes, $tag] }

my %values = (
    'all bytes'      => join('', map { chr } 0 .. 255),
    'empty'          => '',
    'zero'           => '0',
    'integer'        => 42,
    'negative'       => -7,
    'float'          => 0.1 + 0.2,
    'big float'      => 1e100,
    'characters'     => "caf\x{e9} \x{263a}",
    'latin-1 bytes'  => "caf\xe9",
    'stack size'     => 'x' x 512,
    'past the stack' => 'y' x 513,
    'large'          => join('', map { chr($_ % 251) } 1 .. 100_000),
    'newlines'       => "a\nb\0c",
);
my %refs = (
    'hash'   => { Name => 'Roger', list => [1, 2, { x => 3 }] },
    'array'  => [1, 'two', undef, [3]],
    'scalar' => \'referenced',
    'code-free object' => bless({ a => 1 }, 'Some::Class'),
);

for my $what (sort keys %values) {
    my $v = $values{$what};
    ok($ns->setvar("fast.$what", $v), "setvar, $what: fast path");
    ok($ns->_setvar_perl("slow.$what", $v), "... all-Perl path");
    is_deeply(raw("fast.$what"), raw("slow.$what"), "... the same bytes and tag");
    is($ns->getvar("slow.$what"), $ns->_getvar_perl("slow.$what"), "getvar, $what: the same value");
    is_deeply([$ns->getvar("slow.$what")], [$ns->_getvar_perl("slow.$what")], '... in list context too');
}
for my $what (sort keys %refs) {
    $ns->setvar("fast.$what", $refs{$what});
    $ns->_setvar_perl("slow.$what", $refs{$what});
    is(raw("fast.$what")->[1], raw("slow.$what")->[1], "a reference, $what: the same tag");
    is_deeply($ns->getvar("fast.$what"), $refs{$what}, '... getvar thaws it');
    is_deeply($ns->getvar("fast.$what"), $ns->_getvar_perl("fast.$what"), '... as the all-Perl path does');
}
$ns->setvar('list', 'a', [1], { b => 2 });
is_deeply([$ns->getvar('list')], [$ns->_getvar_perl('list')], 'several values: the same list');
is(scalar($ns->getvar('list')), scalar($ns->_getvar_perl('list')), '... the same first value in scalar context');
is($ns->getvar('missing'), undef, 'a missing variable: undef');
is_deeply([$ns->getvar('missing')], [$ns->_getvar_perl('missing')], '... () in list context, as the Perl path');
$ns->setvar('gone', 1);
ok($ns->setvar('gone', undef) && !$ns->findvar('gone'), 'setvar undef deletes (via the Perl path)');

{   # a tied value as the value: fetched once, stored as what it held
    package Counting;
    sub TIESCALAR { my $n = 0; bless { n => \$n }, shift }
    sub FETCH { ${ $_[0]{n} }++; 'fetched' }
}
tie my $magic, 'Counting';
$ns->setvar('magic', $magic);
is($ns->getvar('magic'), 'fetched', 'a tied scalar as the value');
is(${ (tied $magic)->{n} }, 1, '... fetched once');

# errors: the same answers
for my $pair ([ 'k' x 256, qr/longer than 255 bytes/ ], [ '', qr/variable name is needed/ ], [ undef, qr/variable name is needed/ ]) {
    eval { $ns->setvar($pair->[0], 'x') };
    like($@, $pair->[1], 'setvar croaks: ' . $pair->[1]);
    eval { $ns->getvar($pair->[0]) };
    like($@, $pair->[1], 'getvar croaks: ' . $pair->[1]);
}
{
    # one that cannot grow (by default it would, to 1 GiB)
    my $small = MMF->new(-namespace => "$name.small", -size => 64 * 1024, -max_size => 64 * 1024)
        or die $@;
    local $@;
    is($small->setvar('big', 'z' x (1024 * 1024)), 0, 'a value that does not fit: 0');
    like($@, qr/^MMF->setvar: no space/, '... $@ says why, as the Perl path');
    is($small->_setvar_perl('big', 'z' x (1024 * 1024)), 0, '... the Perl path: 0 too');
}
eval { MMF::getvar('not an object', 'k') };
like($@, qr/call it on an MMF object/, 'getvar on something else croaks');

# ---- tied scalars and hashes ----
tie my $s, 'MMF::Shareable', 'tied.scalar', { namespace => $name };
my $obj = tied $s;
for my $what (sort keys %values) {
    $s = $values{$what};
    my $fast = raw('tied.scalar');
    $obj->_STORE_perl($values{$what});
    is_deeply($fast, raw('tied.scalar'), "tied scalar STORE, $what: the same bytes and tag");
    is($s, $obj->_FETCH_perl, "... FETCH: the same value");
}
$s = $refs{hash};
is_deeply($s, $refs{hash}, 'a tied scalar holding a reference');
$s = undef;
ok(!$ns->findvar('tied.scalar'), 'a tied scalar set to undef: deleted');

for my $label ('h', "h\x{263a}", "h\xe9") {
    tie my %h, 'MMF::Shareable', $label, { namespace => $name };
    my $t = tied %h;
    for my $key ('plain', "caf\x{e9}", "\x{263a}", "caf\xe9", '0', '') {
        my $element = $t->_element($key);
        utf8::encode($element) if utf8::is_utf8($element);
        $h{$key} = "value of $key";
        my $fast = raw($element);
        ok(ref $fast, "tied hash '$label', key '$key': STORE sets the variable the Perl path names");
        $t->_STORE_perl($key, "value of $key");
        is_deeply($fast, raw($element), '... with the same bytes');
        is($h{$key}, $t->_FETCH_perl($key), '... FETCH: the same value');
    }
    $h{ref} = [1, 2];
    is_deeply($h{ref}, [1, 2], "tied hash '$label': a reference");
    %h = ();
}

tie my @a, 'MMF::Shareable', 'arr', { namespace => $name };
@a = ('zero', 'one', [2]);
is_deeply([map { $a[$_] } 0 .. 2], ['zero', 'one', [2]], 'tied array FETCH');
is($a[-1][0], 2, '... a negative index');
is($a[1], (tied @a)->_FETCH_perl(1), '... the same value as the Perl path');
is($a[5], undef, '... past the end: undef');

done_testing;
