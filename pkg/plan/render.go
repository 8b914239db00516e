package plan

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// RenderOptions controls the human rendering of a plan.
type RenderOptions struct {
	// Color adds ANSI colours; callers set it only when writing to a TTY.
	Color bool
	// Skips lists every skipped entry with its reason; otherwise only
	// their count is shown.
	Skips bool
}

// redacted is shown instead of values the mapping passed through Redact,
// as Entra shows "[Redact]" in its provisioning logs.
const redacted = "[Redact]"

const (
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiGrey   = "\x1b[90m"
	ansiRed    = "\x1b[31m"
	ansiReset  = "\x1b[0m"
)

// Render writes the plan in the style of a terraform plan: "+" for creates,
// "~" for updates with each property's old and new value, "-" for removals
// with the reason, and a summary line.
func (p *Plan) Render(w io.Writer, opts RenderOptions) error {
	var b strings.Builder
	paint := func(color, s string) string {
		if !opts.Color {
			return s
		}
		return color + s + ansiReset
	}
	noun, anchor := p.noun(), p.Target.Anchor
	if anchor == "" {
		anchor = "anchor"
	}
	for _, a := range p.Actions {
		switch a.Kind {
		case Create:
			fmt.Fprintf(&b, "%s %s %s\n", paint(ansiGreen, "+ "+p.createVerb()), noun, a.Name)
			fmt.Fprintf(&b, "      %-22s %s\n", "source", a.Source)
			fmt.Fprintf(&b, "      %-22s %s\n", anchor, strconv.Quote(a.Anchor))
			if a.Account != nil {
				names := make([]string, 0, len(a.Account.Properties))
				for n := range a.Account.Properties {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					v := strconv.Quote(a.Account.Properties[n])
					if a.Account.IsRedacted(n) {
						v = redacted
					}
					fmt.Fprintf(&b, "      %-22s %s\n", n, v)
				}
			}
		case Update, Adopt:
			verb := "~ update"
			if a.Kind == Adopt {
				verb = "~ adopt"
			}
			fmt.Fprintf(&b, "%s %s %s (id %s)\n", paint(ansiYellow, verb), noun, a.Name, a.ID)
			if a.Kind == Adopt {
				fmt.Fprintf(&b, "      %-22s %s\n", "why", a.Reason+": guestsync takes this existing "+noun+" over")
			}
			fmt.Fprintf(&b, "      %-22s %s\n", "source", a.Source)
			renderChanges(&b, a.Changes)
		case Restore:
			fmt.Fprintf(&b, "%s %s %s (id %s)\n", paint(ansiGreen, "↺ restore"), noun, a.Name, a.ID)
			fmt.Fprintf(&b, "      %-22s %s\n", "source", a.Source)
			fmt.Fprintf(&b, "      %-22s %s\n", "why", a.Reason)
			renderChanges(&b, a.Changes)
		case Disable, Delete:
			verb := "- disable"
			if a.Kind == Delete {
				verb = "- delete"
			}
			fmt.Fprintf(&b, "%s %s %s (id %s)\n", paint(ansiRed, verb), noun, a.Name, a.ID)
			if a.Source != "" {
				fmt.Fprintf(&b, "      %-22s %s\n", "source", a.Source)
			}
			fmt.Fprintf(&b, "      %-22s %s\n", anchor, strconv.Quote(a.Anchor))
			fmt.Fprintf(&b, "      %-22s %s\n", "why", a.Reason)
		case Skip:
			if opts.Skips {
				fmt.Fprintf(&b, "%s %s: %s\n", paint(ansiGrey, "· skip"), a.Source, a.Reason)
			}
		}
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "%s %s\n", paint(ansiYellow, "Warning:"), w)
	}
	b.WriteString(p.Summary())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// renderChanges writes one line per property transition, hiding the
// values of redacted properties.
func renderChanges(b *strings.Builder, changes []Change) {
	for _, c := range changes {
		if c.Redacted {
			fmt.Fprintf(b, "      %-22s %s (changed)\n", c.Property, redacted)
			continue
		}
		fmt.Fprintf(b, "      %-22s %s → %s\n", c.Property, strconv.Quote(c.Old), strconv.Quote(c.New))
	}
}

// Summary is the one-line count of the plan's actions.
func (p *Plan) Summary() string {
	if p.Incremental {
		return p.summary() + " (incremental read: only entries changed since the last run)"
	}
	return p.summary()
}

func (p *Plan) summary() string {
	if !p.HasChanges() {
		return fmt.Sprintf("No changes: %d %ss up to date, %d skipped, %d out of scope.",
			p.Unchanged, p.noun(), p.Count(Skip), p.OutOfScope) + p.waiting()
	}
	adopt := ""
	if n := p.Count(Adopt); n > 0 {
		adopt = fmt.Sprintf("%d to adopt, ", n)
	}
	if n := p.Count(Restore); n > 0 {
		adopt += fmt.Sprintf("%d to restore, ", n)
	}
	if n := p.Count(Disable); n > 0 {
		adopt += fmt.Sprintf("%d to disable, ", n)
	}
	if n := p.Count(Delete); n > 0 {
		adopt += fmt.Sprintf("%d to delete, ", n)
	}
	return fmt.Sprintf("Plan: %d to create, %d to update, %s%d unchanged, %d skipped, %d out of scope.",
		p.Count(Create), p.Count(Update), adopt, p.Unchanged, p.Count(Skip), p.OutOfScope) + p.waiting()
}

// waiting mentions the disabled accounts waiting out their grace period.
func (p *Plan) waiting() string {
	if p.Waiting == 0 {
		return ""
	}
	return fmt.Sprintf(" %d disabled %s(s) waiting out the grace period before deletion.", p.Waiting, p.noun())
}

// noun is what the plan's target calls one account.
func (p *Plan) noun() string {
	if p.Target.Noun == "" {
		return "account"
	}
	return p.Target.Noun
}

// createVerb is what the plan's target calls a create.
func (p *Plan) createVerb() string {
	if p.Target.Create == "" {
		return "create"
	}
	return p.Target.Create
}
