package MMF::Shareable;

use strict;
use warnings;
use Carp;
use MMF;

our $VERSION = '0.01';

# The class of the namespace objects behind the ties: MMF here (mmf's own
# lifetime); Win32::MMF for Win32::MMF::Shareable (Windows lifetime).
sub _mmf_class { 'MMF' }

# Each class's default namespace options (given at `use` time, or by the
# first tie that names a namespace, as in the original), and the
# namespaces this process has open (one view each, shared by its ties).
my %defaults;
my %views;
my %MMF_OPTIONS = map { $_ => 1 } qw(namespace size max_size swapfile reuse autolock timeout debug transient);

# the namespace options among a hash of options (IPC::Shareable's are left out)
sub _mmf_options {
    my $opts = shift;
    my %o;
    for my $k (CORE::keys %$opts) {
        (my $name = lc $k) =~ s/^-//;
        $o{$name} = $opts->{$k} if $MMF_OPTIONS{$name};
    }
    return \%o;
}

# `use MMF::Shareable { namespace => ..., size => ..., swapfile => ... }`
# (or named parameters, or new's list) makes those the default namespace
# and creates or opens it now, as the original does.
sub import {
    my $class = shift;
    return if !@_;
    my $opts;
    if (@_ == 1 && ref $_[0] eq 'HASH') {
        $opts = $_[0];
    } elsif (ref $_[0]) {
        croak "use $class { ... }: the options are a hash";
    } elsif ($_[0] =~ /^-/) {
        croak "use $class: named options come in pairs" if @_ % 2;
        $opts = {@_};
    } else {
        my @keys = qw(namespace size swapfile reuse);
        $opts = { map { $keys[$_] => $_[$_] } grep { defined $_[$_] } 0 .. ($#_ < 3 ? $#_ : 3) };
    }
    $defaults{$class} = _mmf_options($opts);
    $class->_view($defaults{$class});
}

# The view of the namespace options o name, opened once per process.
sub _view {
    my ($class, $o) = @_;
    my %o = %$o;
    $o{namespace} = 'shareable' if !defined $o{namespace};
    my $mmf_class = $class->_mmf_class;
    my $id = join "\0", $mmf_class, $o{namespace}, $o{swapfile} // '';
    if (!$views{$id} || $views{$id}{pid} != $$) {
        $views{$id} = $mmf_class->new(\%o) or croak "$class: namespace '$o{namespace}': $@";
    }
    return $views{$id};
}

# (label, namespace view) from tie's arguments: a label and options, or
# IPC::Shareable style options whose 'key' is the label. IPC::Shareable's
# other options (create, exclusive, mode, destroy) are accepted and ignored.
sub _tie_args {
    my ($class, @args) = @_;
    my ($label, $opts);
    if (@args && ref $args[0] eq 'HASH') {
        $opts = $args[0];
        $label = $opts->{key};
    } else {
        ($label, $opts) = @args;
        $opts ||= {};
    }
    croak "tie $class: a label is needed" if !defined $label || $label eq '';
    croak "tie $class: the options are a hash" if ref $opts ne 'HASH';
    my $given = _mmf_options($opts);
    # the first tie that says how to make the namespace makes it the default
    $defaults{$class} = {%$given} if !$defaults{$class} && CORE::keys %$given;
    my $view = $class->_view({ %{ $defaults{$class} || {} }, %$given });
    return ("$label", $view);
}

# ---- the tie object's methods; each also works on the class, for the
# default namespace (opened if it is not yet) ----

# The namespace object (MMF, or Win32::MMF) behind the tied variable.
sub namespace {
    my $self = shift;
    return ref $self ? $self->{mmf} : $self->_view($defaults{$self} || {});
}

# The namespace lock: while it is held, other processes' writes wait.
# shlock / shunlock (IPC::Shareable's shared lock) are the same lock: mmf's
# readers never take a lock, so only writers need to be kept out.
sub lock     { $_[0]->namespace->lock($_[1]) }
sub unlock   { $_[0]->namespace->unlock }
sub shlock   { $_[0]->namespace->lock($_[1]) }
sub shunlock { $_[0]->namespace->unlock }

# The namespace's dump: printed in void context, returned otherwise.
sub debug    { $_[0]->namespace->debug }

# Runs code under the namespace lock: several variables change as one.
sub _locked {
    my ($self, $code) = @_;
    my $mmf = $self->{mmf};
    croak "MMF::Shareable: the namespace lock was not had: $@" if !$mmf->lock;
    my @r = eval { $code->() };
    my $err = $@;
    $mmf->unlock;
    die $err if $err;
    return wantarray ? @r : $r[0];
}

# ---- scalars: the variable LABEL itself, what $ns->getvar(LABEL) reads ----

sub TIESCALAR {
    my $class = shift;
    my ($label, $mmf) = _tie_args($class, @_);
    return bless { mmf => $mmf, name => $label, h => $mmf->{h} }, $class;
}

# FETCH and STORE are XS (MMF.xs): plain scalars and hash elements in one
# call; they hand the rest (references, arrays' stores, undef) to these.
sub _FETCH_perl {
    my ($self, $i) = @_;
    return $self->{mmf}->getvar($self->_element($i)) if defined $self->{kind};
    return $self->{mmf}->getvar($self->{name});
}

sub _STORE_perl {
    my ($self, $i, $v) = @_;
    if (!defined $self->{kind}) { # a scalar: ($self, $value)
        $self->{mmf}->setvar($self->{name}, $i) or croak "MMF::Shareable: $@";
        return;
    }
    return $self->_store_element($i, $v);
}

# ---- arrays: LABEL[0], LABEL[1], ... and the length in LABEL[#] ----
# ---- hashes: LABEL{key} for each key ----

sub TIEARRAY {
    my $class = shift;
    my ($label, $mmf) = _tie_args($class, @_);
    return bless { mmf => $mmf, name => $label, kind => 'array', h => $mmf->{h} }, $class;
}

sub TIEHASH {
    my $class = shift;
    my ($label, $mmf) = _tie_args($class, @_);
    return bless { mmf => $mmf, name => $label, kind => 'hash', h => $mmf->{h} }, $class;
}

sub _element {
    my ($self, $i) = @_;
    return $self->{kind} eq 'array' ? "$self->{name}\[$i]" : "$self->{name}\{$i}";
}

sub _length_name { "$_[0]{name}\[#]" }

sub _store_element {
    my ($self, $i, $v) = @_;
    my $mmf = $self->{mmf};
    if ($self->{kind} eq 'hash') { # one variable: atomic as it is
        $mmf->setvar($self->_element($i), $v) or croak "MMF::Shareable: $@";
        return;
    }
    $self->_locked(sub {
        $mmf->setvar($self->_element($i), $v) or croak "MMF::Shareable: $@";
        $self->_set_length($i + 1) if $i >= $self->FETCHSIZE;
    });
}

sub FETCHSIZE {
    my $self = shift;
    return scalar(() = $self->_hash_keys) if $self->{kind} eq 'hash';
    return $self->{mmf}->getvar($self->_length_name) || 0;
}

sub _set_length {
    my ($self, $n) = @_;
    $self->{mmf}->setvar($self->_length_name, $n) or croak "MMF::Shareable: $@";
}

sub STORESIZE {
    my ($self, $n) = @_;
    $self->_locked(sub {
        my $old = $self->FETCHSIZE;
        $self->{mmf}->deletevar($self->_element($_)) for $n .. $old - 1;
        $self->_set_length($n);
    });
}

sub EXTEND { }

sub EXISTS {
    my ($self, $i) = @_;
    return 0 if $self->{kind} eq 'array' && $i >= $self->FETCHSIZE;
    return $self->{mmf}->findvar($self->_element($i));
}

sub DELETE {
    my ($self, $i) = @_;
    return $self->_locked(sub {
        my $v = $self->{mmf}->getvar($self->_element($i));
        $self->{mmf}->deletevar($self->_element($i));
        return $v;
    });
}

sub CLEAR {
    my $self = shift;
    $self->_locked(sub {
        if ($self->{kind} eq 'hash') {
            $self->{mmf}->deletevar($self->_element($_)) for $self->_hash_keys;
        } else {
            $self->STORESIZE(0);
        }
    });
}

sub PUSH {
    my ($self, @v) = @_;
    return $self->_locked(sub {
        my $n = $self->FETCHSIZE;
        $self->{mmf}->setvar($self->_element($n++), $_) or croak "MMF::Shareable: $@" for @v;
        $self->_set_length($n);
        return $n;
    });
}

sub POP {
    my $self = shift;
    return $self->_locked(sub {
        my $n = $self->FETCHSIZE or return undef;
        my $v = $self->{mmf}->getvar($self->_element($n - 1));
        $self->{mmf}->deletevar($self->_element($n - 1));
        $self->_set_length($n - 1);
        return $v;
    });
}

sub SHIFT {
    my $self = shift;
    return ($self->SPLICE(0, 1))[0];
}

sub UNSHIFT {
    my ($self, @v) = @_;
    $self->SPLICE(0, 0, @v);
    return $self->FETCHSIZE;
}

# read all, splice in Perl, write back: one locked step
sub SPLICE {
    my ($self, $offset, $length, @list) = @_;
    return $self->_locked(sub {
        my $n = $self->FETCHSIZE;
        my @all = map { scalar $self->{mmf}->getvar($self->_element($_)) } 0 .. $n - 1;
        $offset = 0 if !defined $offset;
        $offset += $n if $offset < 0;
        $length = $n - $offset if !defined $length;
        my @removed = splice @all, $offset, $length, @list;
        for my $i (0 .. $#all) {
            if (defined $all[$i]) {
                $self->{mmf}->setvar($self->_element($i), $all[$i]) or croak "MMF::Shareable: $@";
            } else {
                $self->{mmf}->deletevar($self->_element($i));
            }
        }
        $self->{mmf}->deletevar($self->_element($_)) for scalar(@all) .. $n - 1;
        $self->_set_length(scalar @all);
        return wantarray ? @removed : $removed[-1];
    });
}

sub _hash_keys {
    my $self = shift;
    my $prefix = "$self->{name}\{";
    return map { substr($_, length $prefix, -1) }
        grep { index($_, $prefix) == 0 && substr($_, -1) eq '}' } $self->{mmf}->keys;
}

sub FIRSTKEY {
    my $self = shift;
    $self->{iter} = [ $self->_hash_keys ];
    return shift @{$self->{iter}};
}

sub NEXTKEY {
    my $self = shift;
    return shift @{$self->{iter}};
}

sub SCALAR {
    my $self = shift;
    return $self->FETCHSIZE;
}

sub UNTIE { }

sub DESTROY { }

1;

__END__

=head1 NAME

MMF::Shareable - tie Perl scalars, arrays and hashes to shared memory

=head1 SYNOPSIS

  use MMF::Shareable;

  tie my $quote, 'MMF::Shareable', 'quote.EURUSD';
  $quote = '1.08765';                  # visible to every process at once

  tie my @queue, 'MMF::Shareable', 'jobs', { namespace => 'MyApp.Data' };
  push @queue, 'first', 'second';

  tie my %conf, 'MMF::Shareable', { key => 'conf' };  # IPC::Shareable style
  $conf{threads} = 4;

  # the default namespace, created (or opened) at import time
  use MMF::Shareable { namespace => 'MyApp.Data', size => 4 * 1024 * 1024 };

  my $obj = tie my $s, 'MMF::Shareable', 'label';
  $obj->lock;  $s .= '!';  $obj->unlock;       # the tie object's methods
  (tied $s)->namespace->findvar('label');       # the MMF object behind it
  MMF::Shareable->debug;                        # class methods: the default namespace

=head1 DESCRIPTION

The tied interface of Win32::MMF::Shareable, over L<MMF>. Options are those
of C<< MMF->new >> (namespace, size, swapfile, reuse, autolock, timeout,
debug), given to C<tie> or once at C<use> time; IPC::Shareable's options are
accepted and ignored, except C<key>, which is the label. Without a
namespace, the default one, C<shareable>, is used.

Every element is its own variable in the namespace, so reading one element
is one lock-free get, and C<keys %h> does not thaw the whole structure:

  tie $s, ..., 'label'      the variable "label" (what $ns->getvar('label') reads)
  tie @a, ..., 'label'      "label[0]", "label[1]", ... and the length in "label[#]"
  tie %h, ..., 'label'      "label{key}" for each key

Every access is atomic across processes: a read or a hash store is one
operation; array stores, push, pop, shift, unshift, splice, delete and
clear run under the namespace lock. Values follow L<MMF/setvar>: plain
scalars as their bytes, references through Storable. Fetching a scalar or
an element, and storing a plain scalar into a tied scalar or hash, is one
XS call.

The namespaces are L<MMF> objects, which stay until removed;
L<Win32::MMF::Shareable>'s are L<Win32::MMF> objects, gone with their last
process when they have no swapfile.

=head2 The default namespace

A tie without namespace options uses the default namespace: the one given
at import time, else the one the first tie with namespace options named
(as in the original), else C<shareable>.

  use MMF::Shareable { namespace => 'MyNamespace', size => 1024 * 1024,
                       swapfile => '/var/tmp/private.swp' };

creates (or opens) that namespace right away, as the original does: the
swapfile exists when C<use> returns, with C<size> bytes in use (sizes are
rounded up to a multiple of 4 KiB; the namespace grows up to C<max_size>). Named options (C<< -namespace => ... >>) and
C<new>'s list work too. It stays open until the process ends.

=head2 The tie object

C<tie> returns it, and C<tied> gives it back. Each method also works on the
class (C<< MMF::Shareable->debug >>), for the default namespace, which is
opened if it is not yet.

=over 4

=item $obj->namespace

The namespace object behind the variable (L<MMF>, or L<Win32::MMF> for
Win32::MMF::Shareable), with all its methods:
C<< (tied $s)->namespace->findvar('label') >>.

=item $obj->lock($timeout), $obj->unlock

The namespace lock, held across several accesses: other processes' writes
wait; 1, or 0 on timeout.

=item $obj->shlock($timeout), $obj->shunlock

IPC::Shareable's shared lock: the same lock as C<lock> / C<unlock>. In mmf
readers never take a lock (a read never sees a half-written value), so
there is nothing to share it with: only writers are kept out.

=item $obj->debug

The namespace's dump: printed in void context, returned otherwise.

=back

=head1 EXAMPLE 2 - inter-process signalling

The original module's second example runs unchanged:

 use strict;
 use warnings;
 use Win32::MMF::Shareable;

 defined(my $pid = fork()) or die "Can not fork a child process!";

 if (!$pid) {
    tie my $sig1, "Win32::MMF::Shareable", '$signal1';
    tie my $sig2, "Win32::MMF::Shareable", '$signal2';

    print "PROC1 WAIT SIGNAL 2\n";
    while (!$sig2) {};
    print "PROC1 SEND SIGNAL 1\n";

    $sig1 = 1;
 } else {
    tie my $sig1, "Win32::MMF::Shareable", '$signal1';
    tie my $sig2, "Win32::MMF::Shareable", '$signal2';

    print "PROC2 SEND SIGNAL 2\n";
    $sig2 = 1;
    print "PROC2 WAIT SIGNAL 1\n";
    while (!$sig1) {};

    print "PROC2 GOT SIGNAL 1\n";
 }

=head1 SEE ALSO

L<MMF>, L<IPC::Shareable>

=cut
