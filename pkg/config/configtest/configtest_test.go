package configtest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type section struct {
	URL      string
	Password secret
	PathFile string
	Pages    uint32
	Wait     time.Duration
	TLS      bool
	Insecure bool
	Bases    []sectionBase
	Invite   struct {
		Redirect string
		Send     bool
	}
}

type secret string

type sectionBase struct{ DN, Scope string }

type settings struct {
	URL         string
	Password    string
	Pages       int
	Wait        time.Duration
	TLS         bool
	Insecure    bool
	Bases       []settingsBase
	RedirectURL string
	SendInvite  bool
	Token       string // not from the section
}

type settingsBase struct{ DN, Scope string }

func convert(s section) settings {
	out := settings{URL: s.URL, Password: string(s.Password), Pages: int(s.Pages), Wait: s.Wait, TLS: s.TLS, Insecure: s.Insecure,
		RedirectURL: s.Invite.Redirect, SendInvite: s.Invite.Send, Token: "fixed"}
	for _, b := range s.Bases {
		out.Bases = append(out.Bases, settingsBase(b))
	}
	return out
}

var (
	renamed    = map[string]string{"Invite.Redirect": "RedirectURL", "Invite.Send": "SendInvite"}
	notCarried = map[string]string{"PathFile": "read into Password"}
)

// recorder is a testing.TB that records the errors Carried reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCarried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		convert    func(section) settings
		renamed    map[string]string
		notCarried map[string]string
		want       []string // a part of each error expected, in order
	}{
		{name: "all carried", convert: convert, renamed: renamed, notCarried: notCarried},
		{
			name: "a field dropped",
			convert: func(s section) settings {
				out := convert(s)
				out.Wait = 0
				return out
			},
			renamed: renamed, notCarried: notCarried,
			want: []string{"Wait is not carried to Wait"},
		},
		{
			name: "two bools swapped",
			convert: func(s section) settings {
				out := convert(s)
				out.TLS, out.Insecure = s.Insecure, s.TLS
				return out
			},
			renamed: renamed, notCarried: notCarried,
			want: []string{
				"Insecure set alone is not carried to Insecure", "Insecure is carried to Insecure, and also changes TLS",
				"TLS set alone is not carried to TLS", "TLS is carried to TLS, and also changes Insecure",
			},
		},
		{
			name: "a field of a slice's element dropped",
			convert: func(s section) settings {
				out := convert(s)
				for i := range out.Bases {
					out.Bases[i].Scope = ""
				}
				return out
			},
			renamed: renamed, notCarried: notCarried,
			want: []string{"Bases is not carried to Bases"},
		},
		{
			name: "a field carried to a second place",
			convert: func(s section) settings {
				out := convert(s)
				out.Token += s.URL
				return out
			},
			renamed: renamed, notCarried: notCarried,
			want: []string{"URL is carried to URL, and also changes Token"},
		},
		{
			name:    "a field with no counterpart and not listed",
			convert: convert, renamed: renamed,
			want: []string{"section.PathFile has no counterpart configtest.settings.PathFile"},
		},
		{
			name:    "a renamed field not listed",
			convert: convert, notCarried: notCarried,
			want: []string{
				"section.Invite.Redirect has no counterpart configtest.settings.Invite.Redirect",
				"section.Invite.Send has no counterpart configtest.settings.Invite.Send",
				"setting Invite.Redirect changes RedirectURL",
				"setting Invite.Send changes SendInvite",
			},
		},
		{
			name:    "a field listed as not carried that is",
			convert: convert, renamed: renamed, notCarried: map[string]string{"PathFile": "read into Password", "TLS": "wrongly"},
			want: []string{"TLS is listed as not carried, but setting it changes TLS"},
		},
		{
			name:    "a stale entry",
			convert: convert, renamed: renamed, notCarried: map[string]string{"PathFile": "read into Password", "Gone": "removed"},
			want: []string{"notCarried names Gone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{TB: t}
			Carried(r, tt.convert, tt.renamed, tt.notCarried)
			if len(r.errs) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(r.errs), len(tt.want), strings.Join(r.errs, "\n"))
			}
			for i, w := range tt.want {
				if !strings.Contains(r.errs[i], w) {
					t.Errorf("error %d is %q, want it to say %q", i, r.errs[i], w)
				}
			}
		})
	}
}
