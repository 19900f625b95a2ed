package Win32::MMF::Shareable;

# The original module's name: MMF::Shareable itself, so that scripts written
# for Win32::MMF::Shareable run unchanged.
use strict;
use warnings;
use parent 'MMF::Shareable';

our $VERSION = $MMF::Shareable::VERSION;

1;

__END__

=head1 NAME

Win32::MMF::Shareable - the original module's name for L<MMF::Shareable>

=head1 SYNOPSIS

  use Win32::MMF::Shareable;
  tie my $s1, 'Win32::MMF::Shareable', 'varid';
  $s1 = 'Hello world';

=head1 DESCRIPTION

A subclass of L<MMF::Shareable> that adds nothing: scripts written for
Win32::MMF::Shareable run on Linux unchanged. See L<MMF::Shareable>.

=cut
