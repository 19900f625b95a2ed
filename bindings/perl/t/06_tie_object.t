# The tie object's methods (namespace, lock, unlock, shlock, shunlock,
# debug), as instance and class methods; findvar's values; import-time
# creation of the default namespace, with the size asked for.
use strict;
use warnings;
use Test::More;
use MMF;
use Win32::MMF;
use MMF::Shareable;
use Win32::MMF::Shareable;

my $name = "mmf-perl-tieobj.$$";
my $swap = "/tmp/mmf-perl-tieobj.$$.swp";
my $parent = $$;
END { if ($$ == $parent) { MMF->unlink($_) for $name, "$name.def", "$name.imp", "$name.first";
                           MMF->unlink(undef, $_) for $swap, "$swap.2" } }

sub capture (&) { # what code prints on the selected handle
    my $code = shift;
    open my $fh, '>', \my $buf or die;
    my $old = select $fh;
    $code->();
    select $old;
    close $fh;
    return $buf;
}

sub in_child (&) {
    my $code = shift;
    my $pid = fork() // die;
    if (!$pid) {
        my $ok = eval { $code->(); 1 };
        print STDERR $@ if !$ok;
        require POSIX;
        POSIX::_exit($ok ? 0 : 1);
    }
    waitpid($pid, 0);
    return $? == 0;
}

# ---- instance methods ----
for my $class (qw(Win32::MMF::Shareable MMF::Shareable)) {
    my $mmf_class = $class eq 'MMF::Shareable' ? 'MMF' : 'Win32::MMF';
    my $obj = tie my $s, $class, 'label', { namespace => $name };
    isa_ok($obj, $class, "$class: what tie returns");
    is(tied($s), $obj, "$class: ... is what tied returns");
    $s = 'value';
    my $ns = $obj->namespace;
    isa_ok($ns, $mmf_class, "$class: ->namespace");
    is($ns->getvar('label'), 'value', "$class: ... is the namespace of the variable");
    is((tied $s)->namespace->findvar('label'), 1, "$class: (tied \$s)->namespace->findvar: 1");
    my $none = $ns->findvar('no such variable');
    ok(defined $none && $none eq '', "$class: findvar of a missing variable: '' (Perl's false)");

    for my $pair ([qw(lock unlock)], [qw(shlock shunlock)]) {
        my ($lock, $unlock) = @$pair;
        is($obj->$lock, 1, "$class: ->$lock: 1");
        ok(in_child { my $o = $mmf_class->new(-namespace => $name, -reuse => 1, -timeout => 0.2) or die $@;
                      die 'a write went through' if $o->setvar('during', 1) },
           "$class: ... another process's write waits for it, and times out");
        is($obj->$unlock, 1, "$class: ->$unlock: 1");
        ok(in_child { my $o = $mmf_class->new(-namespace => $name, -reuse => 1, -timeout => 5) or die $@;
                      $o->setvar('after', 1) or die $@ },
           "$class: ... after $unlock it goes through");
    }
    is($obj->lock(1), 1, "$class: ->lock(timeout)");
    $obj->unlock;

    my $printed = capture { $obj->debug };
    like($printed, qr/variables:.*\blabel\b/s, "$class: ->debug in void context prints the dump");
    my $text = capture { my $t = $obj->debug; print "returned: $t" };
    like($text, qr/^returned: namespace \Q$name\E/, "$class: ... and returns it otherwise");

    tie my %h, $class, 'hash', { namespace => $name };
    tie my @a, $class, 'array', { namespace => $name };
    is((tied %h)->namespace, $ns, "$class: a tied hash's object has the same methods");
    ok((tied @a)->lock && (tied @a)->unlock, "$class: ... and a tied array's");
    untie $s;
    untie %h;
    untie @a;
}

# ---- class methods: the default namespace ----
{
    my $pid_ok = in_child {
        my $class = 'Win32::MMF::Shareable';
        $class->import({ namespace => "$name.def" });
        my $ns = $class->namespace;
        die 'namespace: ' . ref $ns if ref $ns ne 'Win32::MMF';
        die 'not the default one' if $ns->{namespace} ne "$name.def";
        die 'lock' if $class->lock != 1;
        die 'unlock' if $class->unlock != 1;
        die 'shlock' if $class->shlock != 1;
        die 'shunlock' if $class->shunlock != 1;
        tie my $s, $class, 'x';
        $s = 'in the default';
        die 'debug' if $class->debug !~ /\bx\b.*in the default/s;
        my $printed = capture { Win32::MMF::Shareable->debug };
        die 'debug in void context' if $printed !~ /\bx\b/;
        die 'the same namespace' if (tied $s)->namespace != $ns;
    };
    ok($pid_ok, 'Win32::MMF::Shareable->namespace, ->lock, ->unlock, ->shlock, ->shunlock, ->debug');
    ok(in_child {
        MMF::Shareable->import({ namespace => "$name.def" });
        die 'MMF::Shareable->namespace' if ref(MMF::Shareable->namespace) ne 'MMF';
        die 'lock' if !MMF::Shareable->lock || !MMF::Shareable->unlock;
        die 'shlock' if !MMF::Shareable->shlock || !MMF::Shareable->shunlock;
        die 'debug' if MMF::Shareable->debug !~ /^namespace \Q$name.def\E/;
    }, 'MMF::Shareable\'s class methods, on its default namespace');
}

# ---- import time ----
sub perl_out {
    my $code = shift;
    my $pid = open(my $fh, '-|') // die;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec $^X, (map { "-I$_" } @INC), '-e', $code;
        die;
    }
    my $out = do { local $/; <$fh> };
    close $fh;
    return $out;
}
is(perl_out(qq{use Win32::MMF::Shareable { namespace => "$name.imp", swapfile => "$swap", size => 65536 };
               BEGIN { print -e "$swap" ? Win32::MMF::Shareable->namespace->stats->{size} : "absent" }}),
   65536, 'use Win32::MMF::Shareable { namespace, swapfile, size }: the swapfile exists right after use, of that size in use');
ok(-e $swap, '... and stays (it has a swapfile)');
is(perl_out(qq{use Win32::MMF::Shareable { namespace => "$name.imp", swapfile => "$swap.2", size => 100000 };
               BEGIN { print Win32::MMF::Shareable->namespace->stats->{size} }}),
   102400, 'a size that is not a multiple of 4 KiB: rounded up to one (documented)');
is(perl_out(qq{use Win32::MMF::Shareable { namespace => "$name.imp" };
               BEGIN { print -e "/dev/shm/$name.imp" ? 'there' : 'absent' }}),
   'there', 'without a swapfile: the namespace is in shared memory right after use');
MMF->unlink("$name.imp");
is(perl_out(qq{use Win32::MMF::Shareable -namespace => "$name.imp", -size => 4096 * 40;
               BEGIN { print Win32::MMF::Shareable->namespace->stats->{size} }}),
   4096 * 40, 'named options at import');
MMF->unlink("$name.imp");
is(perl_out(qq{use MMF::Shareable { namespace => "$name.imp", size => 81920 };
               tie my \$s, 'MMF::Shareable', 'v'; \$s = 'x';
               print ref((tied \$s)->namespace), ' ', (tied \$s)->namespace->stats->{size}}),
   'MMF 81920', 'MMF::Shareable at import: later ties use that namespace');
ok(-e "/dev/shm/$name.imp", '... which persists (MMF)');
is(perl_out(qq{use Win32::MMF::Shareable;
               tie my \$a, 'Win32::MMF::Shareable', 'first', { namespace => "$name.first" };
               tie my \$b, 'Win32::MMF::Shareable', 'second';
               print((tied \$b)->namespace->{namespace}, ' ', Win32::MMF::Shareable->namespace->{namespace})}),
   "$name.first $name.first", 'a tie without options goes to the namespace the first tie named (the original)');
like(perl_out(qq{use Win32::MMF::Shareable { namespace => "bad/name" }; print "not reached"}),
     qr/invalid namespace/, 'a bad namespace at import fails the use');

done_testing;
