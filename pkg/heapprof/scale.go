package heapprof

import "math"

// sampleValues returns a record's alloc_objects, alloc_space,
// inuse_objects and inuse_space and its "bytes" label exactly as
// runtime/pprof's writeHeapProto of the target's Go version computes them;
// label reports whether the sample carries the label.
func (s *Snapshot) sampleValues(r Record) (v [4]int64, bytes int64, label bool) {
	if s.withBytes {
		// Up to 1.26: scaleHeapSample(count, bytes, rate), and the label is
		// the average size when it is not zero.
		v[0], v[1] = scaleBytes(r.AllocObjects, r.AllocBytes, s.Rate)
		v[2], v[3] = scaleBytes(r.InUseObjects(), r.InUseBytes(), s.Rate)
		if r.AllocObjects > 0 {
			bytes = r.AllocBytes / r.AllocObjects
		}
		return v, bytes, bytes != 0
	}
	// 1.27+: scaleHeapSample(count, objectSize, rate), label always set.
	v[0], v[1] = scaleSize(r.AllocObjects, r.ObjectSize, s.Rate)
	v[2], v[3] = scaleSize(r.InUseObjects(), r.ObjectSize, s.Rate)
	return v, r.ObjectSize, true
}

// scaleBytes is runtime/pprof's scaleHeapSample up to Go 1.26: a sample of
// average size S appears with probability 1-exp(-S/rate), so counts and
// bytes are divided by it.
func scaleBytes(count, size, rate int64) (int64, int64) {
	if count == 0 || size == 0 {
		return 0, 0
	}
	if rate <= 1 {
		return count, size
	}
	avgSize := float64(size) / float64(count)
	scale := 1 / (1 - math.Exp(-avgSize/float64(rate)))
	return int64(float64(count) * scale), int64(float64(size) * scale)
}

// scaleSize is runtime/pprof's scaleHeapSample from Go 1.27 on, which takes
// the object size instead of the total bytes.
func scaleSize(count, avgSize, rate int64) (int64, int64) {
	if count == 0 || avgSize == 0 {
		return 0, 0
	}
	if rate <= 1 {
		return count, count * avgSize
	}
	scale := 1 / (1 - math.Exp(-float64(avgSize)/float64(rate)))
	return int64(float64(count) * scale), int64(float64(count*avgSize) * scale)
}
