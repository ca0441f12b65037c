package calibrate

// Available returns the host memory the kernel could hand out now, in bytes:
// MemAvailable plus the free pages parked on per-CPU lists, which MemAvailable
// leaves out (see the package doc: on Linux 6.1 they hide up to tens of MB
// that an earlier test freed). Benchmarks and tests that measure what a
// scenario costs the host read it before and after.
func Available() (int64, error) {
	mi, err := ReadMeminfo()
	if err != nil {
		return 0, err
	}
	pcp, err := perCPUFree()
	if err != nil {
		return 0, err
	}
	return mi.Available + pcp, nil
}
