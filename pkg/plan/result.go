package plan

// Result is what applying one action did.
type Result struct {
	Action Action `json:"action"`
	// ID is the target's id of the account acted on (for a create: the
	// new account's id).
	ID      string   `json:"id,omitempty"`
	Failure *Failure `json:"failure,omitempty"`
}

// Failure is why an action failed, as Graph said it: the error code and
// message and the request id that Microsoft support asks for.
type Failure struct {
	Status    int    `json:"status,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message"`
	RequestID string `json:"requestId,omitempty"`
}

func (f *Failure) Error() string {
	s := f.Message
	if f.Code != "" {
		s = f.Code + ": " + s
	}
	if f.RequestID != "" {
		s += " (request-id " + f.RequestID + ")"
	}
	return s
}
