# Perl and C share variables both ways: the C side is the mmf tool, a
# program on the public C API.
use strict;
use warnings;
use Test::More;
use Storable qw(nfreeze);
use MMF;

my $tool = $ENV{MMF_TOOL} or plan skip_all => 'MMF_TOOL is not set';
my $name = "mmf-perl-interop.$$";
my $parent = $$;
END { MMF->unlink($name) if $$ == $parent }

my $ns = MMF->new(-namespace => $name, -size => 512 * 1024) or BAIL_OUT($@);

sub c { my $out = qx{"$tool" @_}; is($?, 0, "mmf @_") or diag $out; return $out }

# Perl -> C: a plain scalar is exactly its bytes
my $bytes = join '', map { chr } 0 .. 255;
$ns->setvar('from.perl', $bytes);
is(c('get', $name, 'from.perl', '--hex'), unpack('H*', $bytes) . "\n", 'C reads the bytes Perl wrote');

# C -> Perl
c('set', $name, 'from.c', 'written-by-C');
is($ns->getvar('from.c'), 'written-by-C', 'Perl reads the string C wrote');
my $tmp = "/tmp/mmf-interop.$$";
open my $fh, '>:raw', $tmp or die;
print $fh $bytes;
close $fh;
qx{"$tool" set $name binary.from.c < $tmp};
unlink $tmp;
is($ns->getvar('binary.from.c'), $bytes, 'binary bytes from C arrive whole');

# bytes from C that look like Storable output stay bytes in Perl
my $frozen = nfreeze({ a => 1 });
open $fh, '>:raw', $tmp or die;
print $fh $frozen;
close $fh;
qx{"$tool" set $name looks.frozen < $tmp};
unlink $tmp;
is($ns->getvar('looks.frozen'), $frozen, 'C bytes that look like Storable are not thawed');

# counters both ways
is(c('add', $name, 'n', 5), "5\n", 'C creates a counter');
is($ns->add('n', 1), 6, 'Perl adds to it');
is(c('add', $name, 'n', 1), "7\n", 'C sees the sum');
is(unpack('q', $ns->getvar('n')), 7, 'Perl reads it as a 64-bit integer');

# versions agree
my $v = $ns->version('from.c');
like(c('get', $name, 'from.c', '--version'), qr/^$v$/m, 'C and Perl report the same version');
is(c('ls', $name) =~ /from\.perl/ ? 1 : 0, 1, 'C lists what Perl set');

done_testing;
