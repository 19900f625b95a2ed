 use strict;
 use warnings;
 use Win32::MMF::Shareable;

 my $ns = tie my $s1, "Win32::MMF::Shareable", "varid";
 tie my @a1, "Win32::MMF::Shareable", "array";
 $s1 = 'Hello world';
 @a1 = ( A => 1, B => 2, C => 3 );

 tie my $s2, "Win32::MMF::Shareable", "varid";
 tie my @a2, "Win32::MMF::Shareable", "array";
 print "$s2\n";
 print "@a2\n";
