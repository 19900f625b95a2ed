package Win32::MMF;

# The original module's name: MMF itself, so that scripts written for
# Win32::MMF run unchanged.
use strict;
use warnings;
use parent 'MMF';

our $VERSION = $MMF::VERSION;

1;

__END__

=head1 NAME

Win32::MMF - the original module's name for L<MMF>

=head1 SYNOPSIS

  use Win32::MMF;
  my $ns = Win32::MMF->new(-namespace => 'MyNamespace') or die;
  $ns->setvar('Hello', 'Hello world!');

=head1 DESCRIPTION

A subclass of L<MMF> that adds nothing: scripts written for Win32::MMF run
on Linux unchanged. See L<MMF> for the interface.

=cut
