package backend

// PoolUsed is the memory the pool has booked, for backend_test's check of
// the booking against what a load allocates.
func (e *Engine) PoolUsed() uint64 { return e.pool.Used() }
