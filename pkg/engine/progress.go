package engine

// Progress receives how far a long phase has got: "read target" and "plan"
// (each reported once, as it starts, with 0 and 0), "read source" (total
// is the entry count of the last full read, or 0 when unknown) and "apply"
// (total is the number of actions). It is called often; the receiver
// decides how often to show it, and shows the last count again while a
// phase waits (a ticker), since a call may be minutes from the next.
type Progress func(phase string, done, total int)

func (e *Engine) progress(phase string, done, total int) {
	if e.Progress != nil {
		e.Progress(phase, done, total)
	}
}
