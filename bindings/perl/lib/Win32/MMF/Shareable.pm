package Win32::MMF::Shareable;

# The original module's name: MMF::Shareable over Win32::MMF namespaces, so
# that scripts written for Win32::MMF::Shareable run unchanged, with the
# original's lifetime (a namespace without a swapfile is gone when the last
# process using it is).
use strict;
use warnings;
use parent 'MMF::Shareable';
use Win32::MMF ();

our $VERSION = $MMF::Shareable::VERSION;

sub _mmf_class { 'Win32::MMF' }

1;

__END__

=head1 NAME

Win32::MMF::Shareable - the original module's name for L<MMF::Shareable>

=head1 SYNOPSIS

  use Win32::MMF::Shareable;

  my $ns = tie my $s1, "Win32::MMF::Shareable", "varid";
  tie my @a1, "Win32::MMF::Shareable", "array";
  $s1 = 'Hello world';
  @a1 = ( A => 1, B => 2, C => 3 );

  tie my $s2, "Win32::MMF::Shareable", "varid";
  print "$s2\n";                       # Hello world

  $ns->lock;  ...  $ns->unlock;        # the tie object's methods
  (tied $s1)->namespace->findvar('varid');
  Win32::MMF::Shareable->debug;        # also as class methods

  # the default namespace, created (or opened) right here
  use Win32::MMF::Shareable { namespace => 'MyNamespace', size => 1024 * 1024,
                              swapfile => '/var/tmp/private.swp' };

=head1 DESCRIPTION

L<MMF::Shareable> whose namespaces are L<Win32::MMF> objects: a namespace
without a swapfile lives as long as some process uses it, as one in the
Windows pagefile did, so every run of a script starts from a clean
namespace; one with a swapfile stays. See L<MMF::Shareable> for the
interface, the tie object's methods and import-time options.

=cut
