package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 for user space whatever the kernel's HZ.
const clockTick = 10 * time.Millisecond

// procCPU returns a process's CPU time (user + system, all its threads,
// living and exited) from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after it start past the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// selfCPU returns this process's CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// meter measures the timed part of a run: wall time, the server's CPU
// and this process's own.
type meter struct {
	pid        int
	start      time.Time
	srv0, cli0 time.Duration
}

func startMeter(pid int) (*meter, error) {
	m := &meter{pid: pid, cli0: selfCPU()}
	if pid > 0 {
		c, err := procCPU(pid)
		if err != nil {
			return nil, err
		}
		m.srv0 = c
	}
	m.start = time.Now()
	return m, nil
}

// stop fills rep's timing, CPU and throughput for ops operations.
func (m *meter) stop(rep *Report, ops int) error {
	end := time.Now()
	rep.Ops = ops
	rep.Seconds = end.Sub(m.start).Seconds()
	rep.PerSec = float64(ops) / rep.Seconds
	rep.EndUnixNano = end.UnixNano()
	rep.ClientCPUPerOp = float64((selfCPU() - m.cli0).Microseconds()) / float64(ops)
	if m.pid > 0 {
		c, err := procCPU(m.pid)
		if err != nil {
			return err
		}
		rep.ServerCPU = (c - m.srv0).Seconds()
		rep.ServerCPUPerOp = float64((c - m.srv0).Microseconds()) / float64(ops)
	}
	return nil
}

// latencies sets rep's p50 and p99 from ds, in milliseconds.
func latencies(rep *Report, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	rep.P50, rep.P99 = at(0.50), at(0.99)
}
