package expr

import (
	"crypto/rand"
	"errors"
	"io"
	"time"
)

// Evaluator holds what an evaluation may need from the outside world. The
// zero Evaluator uses the system clock and crypto/rand.
type Evaluator struct {
	// Now returns the current time, for Now and the date functions. Nil
	// means time.Now.
	Now func() time.Time
	// Rand is the source of randomness for Guid and RandomString. Nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// Unique reports whether a candidate value of SelectUniqueValue is free
	// for the flow's target property in the tenant; the mapping layer sets
	// it for each flow. Nil means that every candidate is free, so the
	// first rule that gives a value wins: right for checking a mapping
	// without a tenant, wrong for a real sync.
	Unique func(value string) (bool, error)
}

// Eval evaluates e against env with the system clock and crypto/rand.
func (e *Expr) Eval(env Env) (Value, error) {
	return evalRoot(e.root, evalCtx{env: env, src: e.src, b: &budget{}})
}

// Eval evaluates e against env. A failure is an *Error positioned at the
// call that failed (one that would exceed a limit of limits.go wraps
// ErrLimit); an expression that used IgnoreFlowIfNullOrEmpty to drop the
// attribute returns a Value whose Ignored method reports true.
func (ev *Evaluator) Eval(e *Expr, env Env) (Value, error) {
	return evalRoot(e.root, evalCtx{env: env, ev: ev, src: e.src, b: &budget{}})
}

func evalRoot(root node, x evalCtx) (Value, error) {
	v, err := root.eval(x)
	if err == errIgnoreFlow {
		return ignored(), nil
	}
	if err != nil {
		return Value{}, err
	}
	return v, nil
}

// errIgnoreFlow unwinds an evaluation in which IgnoreFlowIfNullOrEmpty
// found nothing to flow: the whole attribute is dropped, wherever in the
// expression the call was.
var errIgnoreFlow = errors.New("ignore flow")

// raisedError is what the Error function returns; the call turns it into
// an *Error wrapping ErrRaised with the user's message as is.
type raisedError struct{ msg string }

func (e *raisedError) Error() string { return e.msg }

// evalCtx is the state of one evaluation. It is small and passed by
// value, so that an evaluation allocates nothing of its own but its
// budget.
type evalCtx struct {
	env Env
	ev  *Evaluator // nil for the defaults
	src string
	b   *budget // what the evaluation has built, against the limits
}

// arg evaluates argument i of c; a missing or empty argument is Null.
func (x evalCtx) arg(c *call, i int) (Value, error) {
	if i >= len(c.args) {
		return Value{}, nil
	}
	return c.args[i].eval(x)
}

// given reports whether argument i of c was written (not left out or empty).
func given(c *call, i int) bool { return i < len(c.args) && !isOmitted(c.args[i]) }

// clock returns the Evaluator's time, for Now and the date functions.
func (x evalCtx) clock() time.Time {
	if x.ev != nil && x.ev.Now != nil {
		return x.ev.Now()
	}
	return time.Now()
}

// unique asks the Evaluator whether a SelectUniqueValue candidate is free.
func (x evalCtx) unique(value string) (bool, error) {
	if x.ev == nil || x.ev.Unique == nil {
		return true, nil
	}
	return x.ev.Unique(value)
}

func (x evalCtx) random(b []byte) error {
	var r io.Reader
	if x.ev != nil {
		r = x.ev.Rand
	}
	if r == nil {
		r = rand.Reader
	}
	_, err := io.ReadFull(r, b)
	return err
}

func (n *attrRef) eval(x evalCtx) (Value, error) {
	if x.env == nil {
		return Value{}, nil
	}
	return attributeValue(x.env.Attribute(n.name)), nil
}

func (n *strLit) eval(evalCtx) (Value, error)  { return n.v, nil }
func (n *intLit) eval(evalCtx) (Value, error)  { return n.v, nil }
func (n *wordLit) eval(evalCtx) (Value, error) { return n.v, nil }
func (n *omitted) eval(evalCtx) (Value, error) { return Value{}, nil }

func (n *compare) eval(x evalCtx) (Value, error) {
	l, err := n.left.eval(x)
	if err != nil {
		return Value{}, err
	}
	r, err := n.right.eval(x)
	if err != nil {
		return Value{}, err
	}
	return Bool(compareValues(n.op, &l, &r)), nil
}

func (n *concat) eval(x evalCtx) (Value, error) {
	v, err := n.parts[0].eval(x)
	if err != nil {
		return Value{}, err
	}
	for i, part := range n.parts[1:] {
		r, err := part.eval(x)
		if err != nil {
			return Value{}, err
		}
		v, err = appendValues(x, v, r)
		if err == nil {
			err = x.charge(sizeOf(v))
		}
		if err != nil {
			p := n.ops[i]
			return Value{}, &Error{Line: p.Line, Col: p.Col, Src: x.src, Msg: "&: " + err.Error(), Err: err}
		}
	}
	return v, nil
}

// eval evaluates the call and charges what it built to the evaluation's
// budget, here for every function: a function whose work before its
// result grows with its input checks the limits first (x.fits).
func (n *call) eval(x evalCtx) (Value, error) {
	v, err := n.fn.eval(x, n)
	if err == nil && !n.fn.passes {
		err = x.charge(sizeOf(v))
	}
	if err == nil || err == errIgnoreFlow {
		return v, err
	}
	if _, ok := err.(*Error); ok { // from a nested call: keep its position
		return Value{}, err
	}
	e := &Error{Line: n.p.Line, Col: n.p.Col, Src: x.src, Msg: n.fn.name + ": " + err.Error(), Err: err}
	if r, ok := err.(*raisedError); ok {
		e.Msg, e.Err = TruncateMessage(r.msg), ErrRaised
	}
	return Value{}, e
}
