# The original module's two examples, unchanged, through the Win32::MMF
# names: their output is the original's.
use strict;
use warnings;
use Test::More;
use MMF;

my $examples = $ENV{MMF_PERL_EXAMPLES} or plan skip_all => 'MMF_PERL_EXAMPLES is not set';
my $lib = $ENV{MMF_PERL_LIB} or plan skip_all => 'MMF_PERL_LIB is not set';

sub run_example {
    my $script = shift;
    local $SIG{ALRM} = sub { die "timed out\n" };
    alarm 60;
    my $out = qx{$^X -I "$lib" "$examples/$script" 2>&1};
    alarm 0;
    return ($out, $?);
}

# EXAMPLE 1 - setvar, getvar and deletevar (namespace "MyNamespace")
MMF->unlink('MyNamespace');
my ($out, $status) = run_example('example1.pl');
is($status, 0, 'example 1 runs') or diag $out;
like($out, qr/^\$VAR1 = 'Hello world!';$/m, 'the string comes back');
like($out, qr/\$VAR1 = \{\s*(?:'Module' => 'Win32::MMF',\s*'Name' => 'Roger'|'Name' => 'Roger',\s*'Module' => 'Win32::MMF')\s*\};/s,
     'the hash comes back');
my @dumps = split /^namespace MyNamespace/m, $out;
is(scalar(@dumps), 3, 'two debug dumps');
like($dumps[1], qr/\bHello\b.*"Hello world!"/s, 'the first shows the string');
like($dumps[1], qr/\bHash\b/, '... and the hash');
unlike($dumps[2], qr/\bHello\b|\bHash\b/, 'the second shows both gone');
MMF->unlink('MyNamespace');

# EXAMPLE 2 - inter-process signalling (the default namespace "shareable")
MMF->unlink('shareable');
($out, $status) = run_example('example2.pl');
is($status, 0, 'example 2 runs');
for my $line ('PROC1 WAIT SIGNAL 2', 'PROC1 SEND SIGNAL 1', 'PROC2 SEND SIGNAL 2',
              'PROC2 WAIT SIGNAL 1', 'PROC2 GOT SIGNAL 1') {
    like($out, qr/^\Q$line\E$/m, $line);
}
MMF->unlink('shareable');

done_testing;
