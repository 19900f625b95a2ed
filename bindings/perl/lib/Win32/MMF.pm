package Win32::MMF;

# The original module's name: MMF with the original's lifetime (a namespace
# without a swapfile is transient, as one in the Windows pagefile was) and
# its functional interface, with Linux meanings, exported on request.
use strict;
use warnings;
use Carp;
use File::Basename qw(dirname);
use Storable ();
use parent 'MMF';

our $VERSION = $MMF::VERSION;

use constant {
    INFINITE      => 0xFFFFFFFF, # WaitForSingleObject: wait for ever
    WAIT_OBJECT_0 => 1,          # what WaitForSingleObject returns when it got the semaphore
    WAIT_TIMEOUT  => 0,          # ... and when the time ran out
};

our @EXPORT_OK = qw(
    GetDebugMode SetDebugMode
    CreateFile OpenFile CloseHandle
    CreateFileMapping OpenFileMapping
    MapViewOfFile UnmapViewOfFile
    ClaimNamespace ReleaseNamespace UseNamespace
    CreateSemaphore WaitForSingleObject ReleaseSemaphore
    InitMMF CreateVar FindVar SetVar GetVar GetVarType DeleteVar
    Malloc Free DumpHeap
    INFINITE WAIT_OBJECT_0 WAIT_TIMEOUT
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

sub import {
    my $class = shift;
    require Exporter;
    local $Exporter::ExportLevel = $Exporter::ExportLevel + 1;
    Exporter::import($class, @_) if @_;
}

# Windows lifetime: a namespace without a swapfile is transient.
sub _transient_default {
    my ($class, $p) = @_;
    return defined $p->{swapfile} && $p->{swapfile} ne '' ? 0 : 1;
}

# ---------------- the functional interface ----------------
#
# Handles are numbers, as on Windows: files (a swapfile's name), mappings
# (an open namespace), views (a mapping's namespace, for the variable
# functions) and semaphores. They belong to the process that made them.

my %HANDLES;
my $next_handle = 0x100;
our $DEBUG = 0;

sub _new_handle {
    my $h = $next_handle;
    $next_handle += 4;
    $HANDLES{$h} = { %{ $_[0] }, pid => $$ };
    return $h;
}

sub _handle {
    my ($h, $kind) = @_;
    return undef if !defined $h || !$h || ref $h;
    my $o = $HANDLES{$h};
    return $o && (!$kind || $o->{kind} eq $kind) ? $o : undef;
}

sub GetDebugMode { return $DEBUG }

sub SetDebugMode {
    $DEBUG = $_[0] ? 1 : 0;
    return;
}

# A swapfile to make a namespace in (CreateFileMapping makes and sizes the
# file itself; an existing one keeps its namespace: nothing is truncated).
sub CreateFile {
    my $path = shift;
    croak 'CreateFile: a file name is needed' if !defined $path || $path eq '';
    if (-e $path && !-f _) {
        $! = 21; # EISDIR
        return undef;
    }
    my $dir = dirname($path);
    if (!-d $dir || !-w _) {
        $! = -d _ ? 13 : 2; # EACCES, ENOENT
        return undef;
    }
    print STDERR "CreateFile: filename=$path\n" if $DEBUG;
    return _new_handle({ kind => 'file', path => $path });
}

# An existing swapfile; undef (and $!) if there is none.
sub OpenFile {
    my $path = shift;
    croak 'OpenFile: a file name is needed' if !defined $path || $path eq '';
    if (!-f $path || !-r _ || !-w _) {
        $! = -e _ ? 13 : 2;
        return undef;
    }
    print STDERR "OpenFile: filename=$path\n" if $DEBUG;
    return _new_handle({ kind => 'file', path => $path });
}

# Closes any handle: a view, a mapping (the namespace is closed with its
# last handle and view), a file, a semaphore. 1, or 0 if it was none.
sub CloseHandle {
    my $h = shift;
    my $o = _handle($h) or return 0;
    delete $HANDLES{$h};
    MMF::_sem_close($o->{sem}, $o->{pid} == $$ ? 1 : 0) if $o->{kind} eq 'semaphore';
    return 1;
}

# Creates (or opens) the namespace: in the swapfile of a CreateFile /
# OpenFile handle, or with 0 in shared memory (transient, as in the
# pagefile). Returns a mapping handle, or undef ($@ says why).
sub CreateFileMapping {
    my ($file, $size, $namespace) = @_;
    my $path;
    if ($file) {
        my $f = _handle($file, 'file') or croak "CreateFileMapping: '$file' is not a file handle";
        $path = $f->{path};
    }
    croak 'CreateFileMapping: a namespace name is needed' if !defined $namespace || $namespace eq '';
    print STDERR "CreateFileMapping: ", ($path ? 'ext-swap' : 'system-swap'),
        " (size=", $size || 0, ", namespace=$namespace)\n" if $DEBUG;
    my $ns = eval {
        __PACKAGE__->new(-namespace => $namespace, -swapfile => $path,
                         -size => $size || 128 * 1024, -debug => $DEBUG);
    };
    return undef if !$ns;
    return _new_handle({ kind => 'mapping', mmf => $ns, name => $namespace, path => $path });
}

# Opens an existing namespace by name: one this process has open (with or
# without a swapfile), else one in shared memory. undef if there is none.
sub OpenFileMapping {
    my $namespace = shift;
    return undef if !defined $namespace || $namespace eq '';
    print STDERR "OpenFileMapping: namespace=$namespace\n" if $DEBUG;
    for my $o (values %HANDLES) {
        next if $o->{kind} ne 'mapping' || $o->{name} ne $namespace || $o->{pid} != $$;
        return _new_handle({ %$o });
    }
    my $ns = eval { __PACKAGE__->new(-namespace => $namespace, -reuse => 1, -debug => $DEBUG) };
    return undef if !$ns;
    return _new_handle({ kind => 'mapping', mmf => $ns, name => $namespace });
}

# A view of the namespace of a mapping handle: the handle the variable
# functions take. The whole namespace is seen; offset and size are
# accepted for the original's sake.
sub MapViewOfFile {
    my ($mapping, $offset, $size) = @_;
    my $m = _handle($mapping, 'mapping') or return undef;
    return _new_handle({ kind => 'view', mmf => $m->{mmf}, name => $m->{name},
                         offset => $offset || 0, size => $size || 0 });
}

sub UnmapViewOfFile {
    my $view = shift;
    _handle($view, 'view') or return 0;
    delete $HANDLES{$view};
    return 1;
}

# ($swap, $ns): the namespace if it is open already (UseNamespace), else
# created or opened in the swapfile (0 for none: shared memory).
sub ClaimNamespace {
    my ($swapfile, $namespace, $size) = @_;
    $size = 128 * 1024 if !$size;
    my $ns = OpenFileMapping($namespace);
    my $swap = 0;
    if (!$ns) {
        if ($swapfile) {
            $swap = OpenFile($swapfile) if -f $swapfile;
            $swap = CreateFile($swapfile) if !$swap;
            croak "Can not create swapfile: $!" if !$swap;
        }
        $ns = CreateFileMapping($swap, $size, $namespace);
    }
    return ($swap, $ns);
}

sub ReleaseNamespace {
    my ($swap, $ns) = @_;
    CloseHandle($ns) if $ns;
    CloseHandle($swap) if $swap;
    return;
}

sub UseNamespace { return OpenFileMapping(shift) }

# the namespace object of a view (or mapping) handle, or of an MMF object
sub _ns {
    my ($view, $what) = @_;
    return $view if ref $view && eval { $view->isa('MMF') };
    my $o = _handle($view);
    croak "$what: '" . ($view // 'undef') . "' is not a view (MapViewOfFile returns one)"
        if !$o || !$o->{mmf};
    return $o->{mmf};
}

# Empties the namespace, as the original's InitMMF formatted the view. A
# namespace is formatted when mmf creates it: a new one needs no InitMMF.
sub InitMMF {
    my ($view) = @_;
    my $ns = _ns($view, 'InitMMF');
    $ns->lock or return 0;
    MMF::_delete($ns->{h}, $_) for $ns->keys;
    $ns->unlock;
    return 1;
}

# Creates the variable, empty, if it does not exist; 1, or undef.
sub CreateVar {
    my ($view, $name) = @_;
    my $ns = _ns($view, 'CreateVar');
    return 1 if $ns->findvar($name);
    my $rc = MMF::_cas($ns->{h}, $name, 0, '', MMF::TAG_BYTES);
    return $rc == MMF::OK || $rc == MMF::ECONFLICT ? 1 : undef;
}

sub FindVar {
    my ($view, $name) = @_;
    return _ns($view, 'FindVar')->findvar($name) ? 1 : 0;
}

# SetVar($view, $name, $type, $data, $size): $type 0 for plain bytes, 1 for
# data frozen by Storable (what getvar thaws); the first $size bytes.
sub SetVar {
    my ($view, $name, $type, $data, $size) = @_;
    my $ns = _ns($view, 'SetVar');
    $ns->_name($name, 'SetVar');
    $data = '' if !defined $data;
    utf8::encode($data) if utf8::is_utf8($data);
    $data = substr($data, 0, $size) if defined $size && $size >= 0 && $size < length $data;
    my $rc = MMF::_set($ns->{h}, $name, $data, $type ? MMF::TAG_STORABLE : MMF::TAG_BYTES);
    return $rc ? $ns->_fail('SetVar', $rc, 0) : 1;
}

# The variable's bytes as stored (frozen ones are not thawed); undef if none.
sub GetVar {
    my ($view, $name) = @_;
    my $ns = _ns($view, 'GetVar');
    $ns->_name($name, 'GetVar');
    my ($rc, $bytes) = MMF::_get($ns->{h}, $name);
    return $rc ? undef : $bytes;
}

# 0 for plain bytes, 1 for Storable data, undef if there is no such variable.
sub GetVarType {
    my ($view, $name) = @_;
    my $ns = _ns($view, 'GetVarType');
    $ns->_name($name, 'GetVarType');
    my ($rc, undef, undef, $tag) = MMF::_get($ns->{h}, $name);
    return undef if $rc;
    return $tag == MMF::TAG_STORABLE || $tag == MMF::TAG_LIST ? 1 : 0;
}

sub DeleteVar {
    my ($view, $name) = @_;
    my $ns = _ns($view, 'DeleteVar');
    $ns->_name($name, 'DeleteVar');
    return MMF::_delete($ns->{h}, $name) == MMF::OK ? 1 : 0;
}

# Prints the namespace's dump (header, heap, variables) on STDOUT.
sub DumpHeap {
    my ($view) = @_;
    print _ns($view, 'DumpHeap')->debug;
    return;
}

sub Malloc {
    croak 'Malloc has no meaning on Linux (mmf allocates inside the namespace itself): '
        . 'use SetVar (or $ns->setvar) to store a value';
}

sub Free {
    croak 'Free has no meaning on Linux (mmf frees inside the namespace itself): '
        . 'use DeleteVar (or $ns->deletevar) to remove a value';
}

# ---- semaphores: named POSIX semaphores (/dev/shm/sem.NAME) ----

my $unnamed = 0;

# CreateSemaphore($initial, $maximum, $name): creates the semaphore, or
# opens it if another process has it open (its count is then kept, as on
# Windows). undef on bad counts or an OS error ($!).
sub CreateSemaphore {
    my ($init, $max, $name) = @_;
    return undef if !defined $init || !defined $max || $init < 0 || $max <= 0 || $init > $max;
    $name = "mmf-unnamed.$$." . ++$unnamed if !defined $name || $name eq '';
    (my $posix = $name) =~ tr{/}{_};
    my $sem = MMF::_sem_open($posix, int $init, int $max) or return undef;
    return _new_handle({ kind => 'semaphore', sem => $sem, name => $name });
}

# WaitForSingleObject($sem, $milliseconds): 1 (WAIT_OBJECT_0) when it took
# the semaphore, 0 (WAIT_TIMEOUT) when the time ran out, undef for a bad
# handle. INFINITE waits for ever; 0 only tries.
sub WaitForSingleObject {
    my ($h, $ms) = @_;
    my $o = _handle($h, 'semaphore') or return undef;
    $ms = 0 if !defined $ms || $ms < 0;
    my $r = MMF::_sem_wait($o->{sem}, $ms);
    return $r < 0 ? undef : $r;
}

# ReleaseSemaphore($sem, $count): 1, or 0 if that would pass the maximum
# count (nothing is released then); undef for a bad handle or count.
sub ReleaseSemaphore {
    my ($h, $count) = @_;
    my $o = _handle($h, 'semaphore') or return undef;
    $count = 1 if !defined $count;
    return undef if $count <= 0;
    return MMF::_sem_post($o->{sem}, int $count);
}

1;

__END__

=head1 NAME

Win32::MMF - the original module's interface, on Linux: objects, functions and
the original's namespace lifetime

=head1 SYNOPSIS

  # ===== Object Oriented Interface =====
  use Win32::MMF;

  # --- in process 1 ---
  my $ns1 = new Win32::MMF;
  $ns1->setvar('varid', $data);

  # --- in process 2 ---
  my $ns2 = new Win32::MMF;
  $data = $ns2->getvar('varid');

  # ===== Tied Interface =====
  use Win32::MMF::Shareable;

  tie my $s1, "Win32::MMF::Shareable", "varid";
  $s1 = 'Hello world';

  tie my $s2, "Win32::MMF::Shareable", "varid";
  print "$s2\n";    # prints 'Hello world'

  # ===== Functional Interface =====
  use Win32::MMF qw(ClaimNamespace UseNamespace MapViewOfFile UnmapViewOfFile
                    ReleaseNamespace SetVar GetVar);

  my ($swap, $ns, $view) = (0, 0, 0);
  $ns = UseNamespace("MyDataShare");
  ($swap, $ns) = ClaimNamespace("data.swp", "MyDataShare", 2 * 1024 * 1024) if !$ns;
  $view = MapViewOfFile($ns, 0, 1000);
  SetVar($view, 'greeting', 0, 'Hello', 5);
  print GetVar($view, 'greeting'), "\n";
  UnmapViewOfFile($view);
  ReleaseNamespace($swap, $ns);

=head1 DESCRIPTION

A subclass of L<MMF> with the three interfaces of the original module:
object-oriented (L<MMF>'s methods), tied (L<Win32::MMF::Shareable>) and
functional (below), so that scripts written for Win32::MMF run on Linux
unchanged, Windows paths aside.

=head2 Lifetime

On Windows a namespace without a swapfile lives in the pagefile and is gone
when the last process that had it open closes it. A C<Win32::MMF> namespace
without C<-swapfile> is therefore I<transient> (mmf's C<transient> option):
it is removed from C</dev/shm> when the last process using it closes it or
dies, and one found with no live process attached is created afresh. So
every run of a script starts from a clean namespace, as on Windows. A
namespace with C<-swapfile> persists in its file, as there. C<-transient>
says otherwise either way. C<MMF> (the native class) keeps mmf's own
default: a namespace stays until it is removed.

=head1 THE FUNCTIONAL INTERFACE

Exported on request (C<use Win32::MMF qw(...)>, or C<:all>). Handles are
numbers, as on Windows, and belong to the process that made them.

=head2 Namespaces and views

=over 4

=item ($swap, $ns) = ClaimNamespace($swapfile, $namespace, $size)

The namespace if this process, or shared memory, has it already
(C<UseNamespace>); else created (or opened) in C<$swapfile>, or with a
false C<$swapfile> in shared memory (transient). C<$swap> is the file's
handle, 0 without one. C<$size> defaults to 128 KiB.

=item $ns = UseNamespace($namespace)

An open namespace's mapping handle, or undef if there is none.

=item ReleaseNamespace($swap, $ns)

Closes both handles.

=item $view = MapViewOfFile($ns, $offset, $size)

A view handle: what the variable functions take. It sees the whole
namespace (a variable table, not raw bytes): C<$offset> and C<$size> are
accepted and not used.

=item UnmapViewOfFile($view)

=item $file = CreateFile($path), $file = OpenFile($path)

A swapfile's handle. C<CreateFile> does not truncate: the namespace is made
in the file by C<CreateFileMapping>, and an existing swapfile keeps its
namespace. C<OpenFile> returns undef (C<$!>) if the file does not exist.

=item $ns = CreateFileMapping($file, $size, $namespace)

Creates or opens the namespace, in the file of C<$file>, or with 0 in
shared memory. undef on failure (C<$@> says why).

=item $ns = OpenFileMapping($namespace)

Opens an existing namespace by name: one this process has open (with or
without a swapfile), else one in shared memory; undef if there is none.
(A namespace in a swapfile is found by its file: open it in another
process with C<ClaimNamespace> or C<OpenFile> and C<CreateFileMapping>.)

=item CloseHandle($handle)

Closes a view, mapping, file or semaphore handle (1; 0 if it is none). A
namespace is closed with its last handle and view.

=back

=head2 Variables on a view

C<$view> is a view (or mapping) handle, or an C<MMF> object.

=over 4

=item SetVar($view, $name, $type, $data, $size)

Stores the first C<$size> bytes of C<$data>: C<$type> 0 for plain bytes, 1
for data frozen by L<Storable> (which C<getvar> thaws). 1, or 0.

=item GetVar($view, $name)

The bytes as stored (frozen data is not thawed); undef if none.

=item GetVarType($view, $name)

0 for plain bytes, 1 for Storable data, undef if there is no such variable.

=item CreateVar($view, $name), FindVar($view, $name), DeleteVar($view, $name)

Creates it empty if it is missing (1, or undef); 1 if it exists, else 0;
deletes it (1, or 0 if it was not there).

=item InitMMF($view, $size)

Empties the namespace (every variable is deleted), as the original's
formatted the view. mmf formats a namespace when it creates it: a new one
needs no C<InitMMF>.

=item DumpHeap($view)

Prints the dump (header, heap blocks and free lists, variables) on STDOUT.

=item Malloc, Free

No meaning on Linux: mmf allocates inside the namespace itself. They croak,
naming C<SetVar> / C<DeleteVar> (or C<setvar> / C<deletevar>) instead.

=item GetDebugMode(), SetDebugMode($mode)

The debug mode: namespaces the functional interface opens are opened with
C<-debug>, and its functions say what they do on STDERR.

=back

=head2 Semaphores

Named POSIX semaphores (C</dev/shm/sem.NAME>) with the lifetime of Windows
semaphores: one is removed when its last handle is closed, and one found
with no process holding a handle (its users died) starts again from its
initial count.

=over 4

=item $sem = CreateSemaphore($initial, $maximum, $name)

Creates the semaphore, or opens it if another process has it open (its
count is kept). Without a name it is private to this process and its
children. undef for bad counts (C<$initial> E<lt> 0, C<$maximum> E<lt>= 0,
C<$initial> E<gt> C<$maximum>) or an OS error (C<$!>).

=item WaitForSingleObject($sem, $milliseconds)

Takes the semaphore: 1 (C<WAIT_OBJECT_0>) when it got it, 0
(C<WAIT_TIMEOUT>) when C<$milliseconds> passed first, undef for a bad
handle. C<INFINITE> waits for ever; 0 only tries. These are the original's
return values (it returned 1 for Windows' C<WAIT_OBJECT_0> and 0
otherwise), and the constants, exported on request, are these values, not
Windows' numbers.

=item ReleaseSemaphore($sem, $count)

Adds C<$count> (default 1): 1, or 0 if that would pass the maximum count
(nothing is added then, as on Windows); undef for a bad handle or count.

=back

=head1 SEE ALSO

L<MMF> for the object interface, L<Win32::MMF::Shareable> for the tied one.

=cut
