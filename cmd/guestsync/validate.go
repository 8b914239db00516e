package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

func (a *app) validateCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate [FILE...]",
		Short: "Check mapping files; needs no directory and no tenant",
		Long: `Compiles each mapping file, runs the tests it embeds, and lists every
problem and every failed expectation as file:line:col: message (a failed
test says what it wanted and what the mapping produced). Without arguments
it checks the mapping named in the configuration. It needs no directory and
no tenant. Exits 0 when every file is valid and every test passes, 1
otherwise.`,
		Example: "  guestsync validate mappings/*.yaml\n  guestsync validate --format json mappings/partner-guest.yaml",
		RunE: func(cmd *cobra.Command, files []string) error {
			if format != "text" && format != "json" {
				return withCode(exitUsage, fmt.Errorf("--format must be text or json, not %q", format))
			}
			if len(files) == 0 {
				c, err := a.loadConfig()
				if err != nil {
					return err
				}
				files = []string{c.Mapping.File}
			}
			var problems yamlfile.Problems
			tests := 0
			for _, f := range files {
				m, err := mapping.Load(f)
				if err != nil {
					problems = append(problems, yamlfile.AsProblems(f, err)...)
					continue
				}
				tests += m.Tests()
				problems = append(problems, m.RunTests()...)
			}
			if format == "json" {
				out := struct {
					Valid    bool              `json:"valid"`
					Files    []string          `json:"files"`
					Tests    int               `json:"tests"`
					Problems yamlfile.Problems `json:"problems"`
				}{len(problems) == 0, files, tests, problems}
				if out.Problems == nil {
					out.Problems = yamlfile.Problems{}
				}
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return withCode(exitFailed, err)
				}
			} else {
				for _, p := range problems {
					fmt.Fprintln(a.out, p.Error())
				}
				if len(problems) == 0 {
					fmt.Fprintf(a.out, "%d mapping file(s) valid, %d embedded test(s) passed\n", len(files), tests)
				}
			}
			if len(problems) > 0 {
				return withCode(exitFailed, fmt.Errorf("%d problem(s) in %d file(s)", len(problems), len(files)))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
