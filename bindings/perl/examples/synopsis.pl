 use strict;
 use warnings;

 # ===== Object Oriented Interface =====
 use Win32::MMF;

 # --- in process 1 ---
 my $data = "data from process 1";
 my $ns1 = new Win32::MMF;
 $ns1->setvar('varid', $data);

 # --- in process 2 ---
 my $ns2 = new Win32::MMF;
 $data = $ns2->getvar('varid');
 print "$data\n";

 # ==== Tied Interface ====
 use Win32::MMF::Shareable;

 tie my $s1, "Win32::MMF::Shareable", "varid";
 $s1 = 'Hello world';

 tie my $s2, "Win32::MMF::Shareable", "varid";
 print "$s2\n";    # should print 'Hello world'
