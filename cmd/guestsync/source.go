package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ad"
	"github.com/guestsync/guestsync/pkg/source/ldif"
)

func (a *app) sourceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "source",
		Short:   "Inspect the directory source",
		Example: "  guestsync source dump --format count",
	}
	cmd.AddCommand(a.sourceDumpCommand())
	return cmd
}

func (a *app) sourceDumpCommand() *cobra.Command {
	var format string
	var full bool
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Print the entries guestsync reads, before mapping",
		Long: `Reads the configured source (LDAP search base, filter and scope, or LDIF
file) exactly as a sync would and prints every entry it returns, before any
mapping: the first thing to look at when a partner is missing or a value is
wrong. Where the source can read incrementally and a sync has stored a
watermark, it shows what the next sync would read (the changes); --full
shows everything. It writes nothing anywhere, not even the state file.

Formats: ldif (RFC 2849; binary values base64-encoded), json (one JSON object
per line; binary values as {"base64": "..."}), count (the number of entries
on one line). Active Directory values that are not readable as stored
(objectGUID, objectSid, userAccountControl, accountExpires, pwdLastSet,
whenChanged, ...) are decoded alongside: as comments in LDIF, in a
"decoded" list in JSON; so are values that cannot be decoded, and text
values that are not valid UTF-8.`,
		Example: "  guestsync source dump --config /etc/guestsync/guestsync.yaml | less\n  guestsync source dump --format json | jq -r .dn\n  guestsync source dump --format count",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var write func(source.Entry) error
			var flush func() error
			switch format {
			case "ldif":
				w := ldif.NewWriter(a.out)
				write = func(e source.Entry) error {
					if err := w.Write(e); err != nil {
						return err
					}
					for _, n := range ad.Describe(e) {
						w.Comment(noteText(n))
					}
					return nil
				}
				flush = w.Flush
			case "json":
				enc := json.NewEncoder(a.out)
				enc.SetEscapeHTML(false)
				write = func(e source.Entry) error {
					return enc.Encode(dumpRecord{e, ad.Describe(e)})
				}
				flush = func() error { return nil }
			case "count":
				write, flush = func(source.Entry) error { return nil }, func() error { return nil }
			default:
				return withCode(exitUsage, fmt.Errorf("--format must be ldif, json or count, not %q", format))
			}
			c, err := a.loadConfigWith(config.LoadSource) // no mapping or Graph needed
			if err != nil {
				return err
			}
			log := a.logger()
			src, err := newSource(c, nil, log)
			if err != nil {
				return withCode(exitUsage, err)
			}
			rp := engine.ReadPolicy{Full: full, Every: c.Source.FullReadEvery, Now: time.Now()}
			res, err := engine.ReadSource(contextOf(cmd), src, c.State.File, rp, log, write)
			if ferr := flush(); err == nil {
				err = ferr
			}
			var refused *engine.ReadRefusedError
			switch {
			case errors.As(err, &refused):
				// Dumped as far as it goes; a run would plan nothing on it.
				return withCode(exitRefused, err)
			case err != nil:
				return withCode(exitFailed, fmt.Errorf("read source (%d entries before the error): %w", res.Entries, err))
			}
			if format == "count" {
				fmt.Fprintln(a.out, res.Entries)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "ldif", "output format: ldif, json or count")
	cmd.Flags().BoolVar(&full, "full", false, "read the whole source, not only its changes since the last sync")
	return cmd
}

func noteText(n ad.Note) string {
	if n.Problem != "" {
		return n.Attribute + ": cannot decode: " + n.Problem
	}
	return n.Attribute + ": " + n.Text
}

// dumpRecord is an entry with its decoded AD values, for --format json.
type dumpRecord struct {
	entry   source.Entry
	decoded []ad.Note
}

// MarshalJSON writes the entry's own (lossless) JSON plus "decoded".
func (d dumpRecord) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(d.entry)
	if err != nil || len(d.decoded) == 0 {
		return b, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	if fields["decoded"], err = json.Marshal(d.decoded); err != nil {
		return nil, err
	}
	return json.Marshal(fields)
}
