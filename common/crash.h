/*
 * Named crash points, for the crash tests only. In a build with
 * MMF_CRASH_POINTS defined (the mmf_crashpoints library target), a process
 * whose environment has MMF_CRASH_AT=NAME (or NAME@N: the N-th time it is
 * reached) kills itself with SIGKILL at that point, exactly as kill -9 would
 * (with MMF_CRASH_STOP=1 it stops itself with SIGSTOP instead: a live writer
 * that stalls mid-write).
 * Every other build compiles them to nothing.
 */
#ifndef MMF_COMMON_CRASH_H
#define MMF_COMMON_CRASH_H

#ifdef MMF_CRASH_POINTS
void mmf__crash_point(const char *name);
#define MMF_CRASH_POINT(name) mmf__crash_point(name)
#else
#define MMF_CRASH_POINT(name) ((void)0)
#endif

#endif
