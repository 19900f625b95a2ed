package MMF;

use strict;
use warnings;
use Carp;
use Storable qw(nfreeze thaw);

our $VERSION = '0.01';

require XSLoader;
XSLoader::load('MMF', $VERSION);

# error codes of the C library (include/mmf.h)
use constant {
    OK        => 0,
    ENOTFOUND => -1,
    ENOENT    => -2,
    ENOSPC    => -4,
    ETIMEDOUT => -5,
    EINVAL    => -7,
    ECONFLICT => -10,
    ENOLOCK   => -12,
};

# What a value's tag says it is: its bytes (what a C program sees and
# writes), one Perl structure frozen by Storable, or a list of values.
use constant { TAG_BYTES => 0, TAG_STORABLE => 1, TAG_LIST => 2 };

my %PARAMS = map { $_ => 1 } qw(namespace size max_size swapfile reuse autolock timeout debug transient);

sub _params {
    my %p = (namespace => 'shareable', size => 128 * 1024, max_size => 0, swapfile => undef,
             reuse => 0, autolock => 1, timeout => 10, debug => 0, transient => undef);
    if (@_ == 1 && ref $_[0] eq 'HASH') {
        for my $k (CORE::keys %{$_[0]}) {
            (my $name = lc $k) =~ s/^-//;
            croak "MMF->new: unknown parameter '$k' (one of: @{[sort(CORE::keys %PARAMS)]})"
                if !$PARAMS{$name};
            $p{$name} = $_[0]{$k};
        }
    } elsif (@_ && defined $_[0] && !ref $_[0] && $_[0] =~ /^-/) {
        croak 'MMF->new: named parameters come in pairs' if @_ % 2;
        my %named = @_;
        for my $k (CORE::keys %named) {
            (my $name = lc $k) =~ s/^-//;
            croak "MMF->new: unknown parameter '$k' (one of: @{[map { \"-$_\" } sort(CORE::keys %PARAMS)]})"
                if $k !~ /^-/ || !$PARAMS{$name};
            $p{$name} = $named{$k};
        }
    } elsif (@_) {
        croak 'MMF->new: (namespace, size, swapfile, reuse) at most' if @_ > 4;
        my @keys = qw(namespace size swapfile reuse);
        for my $i (0 .. $#_) { $p{$keys[$i]} = $_[$i] if defined $_[$i] }
    }
    croak 'MMF->new: the namespace must be a name' if !defined $p{namespace} || ref $p{namespace};
    for my $n (qw(size max_size timeout)) {
        croak "MMF->new: $n must be a number of at least 0, not '$p{$n}'"
            if !defined $p{$n} || $p{$n} !~ /^\d+(?:\.\d*)?$/;
    }
    return \%p;
}

# The lifetime of a namespace opened without -transient: mmf's own (it
# stays until removed). Win32::MMF says otherwise.
sub _transient_default { 0 }

sub new {
    my $class = shift;
    $class = ref($class) || $class;
    my $p = _params(@_);
    $p->{transient} = $class->_transient_default($p) if !defined $p->{transient};
    my ($rc, $h) = _open($p->{namespace}, $p->{swapfile}, $p->{size}, $p->{reuse} ? 1 : 0,
                         $p->{autolock} ? 1 : 0, $p->{timeout}, $p->{debug} ? 1 : 0,
                         $p->{transient} ? 1 : 0, $p->{max_size});
    if ($rc == EINVAL) {
        croak "MMF->new: invalid namespace '$p->{namespace}' or parameters: "
            . _strerror($rc);
    }
    if ($rc) {
        $@ = "MMF->new: namespace '$p->{namespace}': " . _strerror($rc);
        $! = $rc == ENOENT ? 2 : 1; # ENOENT, or EPERM-like
        return undef;
    }
    return bless { h => $h, pid => $$, %$p }, $class;
}

sub DESTROY {
    my $self = shift;
    _close($self->{h}) if $self->{h};
    $self->{h} = 0;
}

sub _name {
    my ($self, $name, $what) = @_;
    croak "MMF->$what: a variable name is needed" if !defined $name || $name eq '';
    croak "MMF->$what: '$name' is longer than 255 bytes" if length $name > 255;
    return $name;
}

# (bytes, tag) for what setvar was given
sub _encode {
    return (nfreeze([@_]), TAG_LIST) if @_ != 1;
    my $v = shift;
    return (nfreeze($v), TAG_STORABLE) if ref $v;
    my $bytes = "$v";
    utf8::encode($bytes) if utf8::is_utf8($bytes); # characters as their UTF-8 bytes
    return ($bytes, TAG_BYTES);
}

sub _decode {
    my ($bytes, $tag) = @_;
    return $bytes if $tag == TAG_BYTES;
    my $v = thaw($bytes);
    return $tag == TAG_LIST ? @$v : $v;
}

# Says why in $@ (and on STDERR with -debug); returns what the caller gives.
sub _fail {
    my ($self, $what, $rc, $return) = @_;
    $@ = "MMF->$what: " . _strerror($rc);
    carp $@ if $self->{debug};
    return $return;
}

# getvar and setvar are XS (MMF.xs): plain scalars in one call. They hand
# the rest to _setvar_perl and _decode_for, which say what both mean.
sub _setvar_perl {
    my ($self, $name) = (shift, shift);
    $self->_name($name, 'setvar');
    if (@_ == 1 && !defined $_[0]) { # undef deletes
        my $rc = _delete($self->{h}, $name);
        return $rc == OK || $rc == ENOTFOUND ? 1 : $self->_fail('setvar', $rc, 0);
    }
    my ($bytes, $tag) = _encode(@_);
    my $rc = _set($self->{h}, $name, $bytes, $tag);
    return $rc ? $self->_fail('setvar', $rc, 0) : 1;
}

# getvar's value from its bytes and tag, in the caller's context
sub _decode_for {
    my ($bytes, $tag) = @_;
    return _decode($bytes, $tag) if wantarray;
    return scalar((_decode($bytes, $tag))[0]) if $tag == TAG_LIST;
    return _decode($bytes, $tag);
}

# What getvar does, all in Perl: the reference the fast path is tested against.
sub _getvar_perl {
    my ($self, $name) = @_;
    $self->_name($name, 'getvar');
    my ($rc, $bytes, $version, $tag) = _get($self->{h}, $name);
    return wantarray ? () : undef if $rc;
    return _decode_for($bytes, $tag);
}

sub deletevar {
    my ($self, $name) = @_;
    $self->_name($name, 'deletevar');
    my $rc = _delete($self->{h}, $name);
    return $rc ? $self->_fail('deletevar', $rc, 0) : 1;
}

sub findvar {
    my ($self, $name) = @_;
    $self->_name($name, 'findvar');
    my $rc = _exists($self->{h}, $name);
    return $rc < 0 ? $self->_fail('findvar', $rc, '') : $rc ? 1 : ''; # as the original: 1 or 
}

sub lock {
    my ($self, $timeout) = @_;
    $timeout = $self->{timeout} if !$timeout;
    my $rc = _lock($self->{h}, $timeout);
    return 1 if !$rc;
    return 0 if $rc == ETIMEDOUT;
    return $self->_fail('lock', $rc, undef);
}

sub unlock {
    my $self = shift;
    my $rc = _unlock($self->{h});
    return $rc ? $self->_fail('unlock', $rc, undef) : 1;
}

sub debug {
    my $self = shift;
    my ($rc, $text) = _dump($self->{h});
    return $self->_fail('debug', $rc, undef) if $rc;
    print $text if !defined wantarray;
    return $text;
}

# ---- beyond the original ----

sub version {
    my ($self, $name) = @_;
    $self->_name($name, 'version');
    my ($rc, undef, $version) = _get($self->{h}, $name);
    return 0 if $rc == ENOTFOUND;
    return $rc ? $self->_fail('version', $rc, undef) : $version;
}

sub cas {
    my ($self, $name, $version) = (shift, shift, shift);
    $self->_name($name, 'cas');
    croak 'MMF->cas: the version must be a number' if !defined $version || $version !~ /^\d+$/;
    my ($bytes, $tag) = _encode(@_);
    my $rc = _cas($self->{h}, $name, $version, $bytes, $tag);
    return 1 if !$rc;
    return 0 if $rc == ECONFLICT;
    return $self->_fail('cas', $rc, undef);
}

sub add {
    my ($self, $name, $delta) = @_;
    $self->_name($name, 'add');
    $delta = 1 if !defined $delta;
    croak "MMF->add: the delta must be a whole number, not '$delta'" if $delta !~ /^-?\d+$/;
    my ($rc, $result) = _add($self->{h}, $name, $delta);
    return $rc ? $self->_fail('add', $rc, undef) : $result;
}

sub wait {
    my ($self, $name, $version, $timeout) = @_;
    $self->_name($name, 'wait');
    $version = $self->version($name) if !defined $version;
    $timeout = $self->{timeout} if !defined $timeout;
    my $rc = _wait($self->{h}, $name, $version, $timeout);
    return 1 if !$rc;
    return 0 if $rc == ETIMEDOUT;
    return $self->_fail('wait', $rc, undef);
}

sub keys {
    my $self = shift;
    my ($rc, $names) = _keys($self->{h});
    if ($rc) {
        $self->_fail('keys', $rc);
        return;
    }
    return @$names;
}

sub each {
    my $self = shift;
    $self->{_each} ||= [ $self->keys ];
    while (@{$self->{_each}}) {
        my $name = shift @{$self->{_each}};
        my ($rc, $bytes, undef, $tag) = _get($self->{h}, $name);
        next if $rc; # deleted since the walk began
        return ($name, $tag == TAG_LIST ? [_decode($bytes, $tag)] : _decode($bytes, $tag));
    }
    delete $self->{_each};
    return;
}

sub stats {
    my $self = shift;
    my ($rc, $stats) = _stat($self->{h});
    return $rc ? $self->_fail('stats', $rc, undef) : $stats;
}

sub check {
    my $self = shift;
    my ($rc, $report) = _check($self->{h});
    return wantarray ? (!$rc ? 1 : 0, $report) : !$rc ? 1 : 0;
}

# Removes a namespace (the shared-memory object, or the swapfile).
sub unlink {
    my ($class, $namespace, $swapfile) = @_;
    return _unlink($namespace, $swapfile) == OK ? 1 : 0;
}

1;

__END__

=head1 NAME

MMF - named variables shared between processes, the Win32::MMF interface on Linux

=head1 SYNOPSIS

  use MMF;

  # --- in process 1 ---
  my $ns1 = MMF->new(-namespace => 'MyApp.Data', -size => 1024 * 1024) or die $@;
  $ns1->setvar('greeting', 'Hello world');       # plain bytes, as C sees them
  $ns1->setvar('config', { a => 1, b => [2, 3] }); # references go through Storable

  # --- in process 2 ---
  my $ns2 = MMF->new(-namespace => 'MyApp.Data', -reuse => 1) or die $@;
  print $ns2->getvar('greeting'), "\n";

=head1 DESCRIPTION

MMF gives Perl the interface of Win32::MMF, on Linux, over the mmf C library:
a namespace is a named block of shared memory (a POSIX shared-memory object,
or a backing file given as C<-swapfile>), and variables set in it by one
process are visible to every other at once, Perl or C. Reads take no lock;
every write is atomic on its own.

C<Win32::MMF> is the same class under the original name, so scripts written
for the original run unchanged.

=head2 Creating a namespace object

  $ns = MMF->new(-namespace => 'MyApp.Data', -size => 1024 * 1024,
                 -swapfile => '/var/tmp/data.swp', -reuse => 0,
                 -autolock => 1, -timeout => 10, -debug => 0, -transient => 0);
  $ns = MMF->new({ namespace => 'MyApp.Data', size => 1024 * 1024 });
  $ns = MMF->new('MyApp.Data', 1024 * 1024, '/var/tmp/data.swp', 0);
  $ns = MMF->new;    # the default namespace, 'shareable'

Parameter names are case-insensitive; named ones start with C<->.
C<-size> defaults to 128 KiB, C<-timeout> to 10 seconds (the lock's).
With C<-reuse> the namespace must exist: C<new> returns undef and says why
in C<$@> otherwise. Bad parameters croak. The object closes its view when it
goes out of scope; the namespace and its variables stay (C<< MMF->unlink($name) >>
removes it), unless it is C<-transient>.

C<-size> is where the namespace starts, rounded up to a multiple of 4 KiB
by the library; it grows on demand up to C<-max_size> bytes (0, the
default: mmf's default of 1 GiB, or C<-size> if larger), and past that a
write fails with "no space" and changes nothing. C<< -max_size => $size >>
gives a namespace of a fixed size, as the original's. A swapfile is as long
as the most the namespace may grow to, but sparse: only what is in use
takes disk.

=head2 Lifetime

C<MMF> keeps mmf's own default: a namespace stays until it is removed.
With C<< -transient => 1 >> it is removed when the last process using it
closes it or dies, and one found with no live process attached is created
afresh (C<-reuse> then finds none). L<Win32::MMF> is transient without a
swapfile, as the original's namespaces in the Windows pagefile were.

=head2 Variables

=over 4

=item $ns->setvar($name, $data, ...)

A plain scalar is stored as its bytes (character strings as their UTF-8
bytes), exactly what a C program reading the variable gets. A reference, or
several values, is frozen with Storable, and the variable is tagged as such,
so that plain bytes that happen to look like Storable output are never
thawed. An empty string keeps the variable with no memory; C<undef> deletes
it. Returns 1, or 0 on failure (C<$@> says why).

=item $data = $ns->getvar($name)

The value: the bytes, or the thawed structure (a list in list context for
several values). undef if there is no such variable.

=item $ns->deletevar($name), $ns->findvar($name)

Deletes the variable (1, or 0); tells whether it exists: 1, or Perl's
false (the empty string), as the original.

=item $ns->lock($timeout), $ns->unlock

The namespace lock, for grouping writes: while one process holds it, others'
writes wait; reads go on. C<lock> returns 1, 0 when C<$timeout> seconds
(default: the object's) passed, undef on error.

=item $ns->debug

Prints (and returns) the dump: header, heap blocks and free lists, variables.

=back

=head2 Speed

C<getvar> and C<setvar> of a plain scalar are one XS call each (no Perl
code runs); references, several values and C<undef> go through the Perl
code, which gives the same bytes. C<bindings/perl/bench> prints their
rate next to a plain Perl hash.

=head2 Beyond the original

  my $v = $ns->version('quote');          # changes on every write, 0 if missing
  $ns->cas('quote', $v, $new) or retry(); # 1, 0 if someone wrote since, undef on error
  my $n = $ns->add('hits', 1);            # atomic 64-bit counter, new value
  $ns->wait('quote', $v, 5);              # sleeps until it changes: 1, or 0 on timeout
  my @names = $ns->keys;
  while (my ($name, $value) = $ns->each) { ... }
  my $stats = $ns->stats;                 # sizes, heap, vars, lock figures
  my ($whole, $report) = $ns->check;

=head1 EXAMPLES

The original module's two examples run unchanged (C<bindings/perl/examples/>).

=head2 EXAMPLE 1 - setvar, getvar and deletevar

 use strict;
 use warnings;
 use Win32::MMF;
 use Data::Dumper;

 my $ns = new Win32::MMF( -namespace => "MyNamespace" ) or die;

 # setting variables and getting them back
 my $var1 = "Hello world!";
 my $var2 = {
    'Name' => 'Roger',
    'Module' => 'Win32::MMF',
 };

 $ns->setvar('Hello', $var1);
 $ns->setvar('Hash', $var2);
 $ns->debug();

 my $r1 = $ns->getvar('Hello');
 my $r2 = $ns->getvar('Hash');
 print Dumper($r1), Dumper($r2), "\n";

 $ns->deletevar('Hello');
 $ns->setvar('Hash', undef);
 $ns->debug();

=head2 EXAMPLE 2 - inter-process signalling

See L<MMF::Shareable>.

=head1 SEE ALSO

L<MMF::Shareable>, L<Storable>, C<include/mmf.h> of the mmf library.

=cut
