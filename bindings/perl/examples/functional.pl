 use strict;
 use warnings;
 use Win32::MMF qw/ ClaimNamespace UseNamespace MapViewOfFile UnmapViewOfFile
                    ReleaseNamespace SetVar GetVar /;

 my ($swap, $ns, $view) = (0, 0, 0);
 $ns = UseNamespace("MyDataShare");
 if (!$ns) {
     ($swap, $ns) = ClaimNamespace("data.swp",
                                   "MyDataShare",
                                   2 * 1024 * 1024);
     die "Can not create swap file" if !$swap;
     die "Can not create namespace" if !$ns;
 }

 $view = MapViewOfFile($ns, 0, 1000);

 my $runs = GetVar($view, 'runs') || 0;
 SetVar($view, 'runs', 0, $runs + 1, length($runs + 1));
 print "run ", GetVar($view, 'runs'), " of the script on data.swp\n";

 UnmapViewOfFile($view);
 ReleaseNamespace($swap, $ns);
