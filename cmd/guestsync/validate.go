package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

func (a *app) validateCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "validate [FILE...]",
		Short: "Check mapping files, or the configuration and its mapping; needs no directory and no tenant",
		Long: `Compiles each mapping file, runs the tests it embeds, and lists every
problem and every failed expectation as file:line:col: message (a failed
test says what it wanted and what the mapping produced). Without arguments
it checks the configuration (its keys and values, the files it names, and
what its mapping needs of it, such as invite mode's redirect URL) and the
mapping it names, and lists the configuration's warnings too. It needs no
directory and no tenant. Exits 0 when every file is valid and every test
passes, 1 otherwise; warnings do not change it.`,
		Example: "  guestsync validate mappings/*.yaml\n  guestsync validate --config /etc/guestsync/guestsync.yaml\n  guestsync validate --format json mappings/partner-guest.yaml",
		RunE: func(cmd *cobra.Command, files []string) error {
			if format != "text" && format != "json" {
				return withCode(exitUsage, fmt.Errorf("--format must be text or json, not %q", format))
			}
			v := validation{Files: []string{}, Problems: yamlfile.Problems{}, Warnings: yamlfile.Problems{}}
			if len(files) == 0 {
				path, err := config.Find(a.configPath, a.env)
				if err != nil {
					return withCode(exitUsage, err)
				}
				v.checkConfig(path, a.env)
			}
			for _, f := range files {
				v.checkMapping(f)
			}
			v.Valid = len(v.Problems) == 0
			if format == "json" {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(v); err != nil {
					return withCode(exitFailed, err)
				}
			} else {
				for _, p := range v.Problems {
					fmt.Fprintln(a.out, p.Error())
				}
				for _, w := range v.Warnings {
					fmt.Fprintln(a.out, "warning: "+w.Error())
				}
				if v.Valid {
					if v.Config != "" {
						fmt.Fprint(a.out, "configuration valid, ")
					}
					fmt.Fprintf(a.out, "%d mapping file(s) valid, %d embedded test(s) passed\n", len(v.Files), v.Tests)
				}
			}
			if !v.Valid {
				checked := len(v.Files)
				if v.Config != "" {
					checked++
				}
				return withCode(exitFailed, fmt.Errorf("%d problem(s) in %d file(s)", len(v.Problems), checked))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// validation is what validate found, and its --format json.
type validation struct {
	Valid bool `json:"valid"`
	// Config is the configuration checked, when no mapping file is named.
	Config   string            `json:"config,omitempty"`
	Files    []string          `json:"files"`
	Tests    int               `json:"tests"`
	Problems yamlfile.Problems `json:"problems"`
	Warnings yamlfile.Problems `json:"warnings"`
}

// checkConfig checks the configuration at path, the mapping it names, and
// what that mapping needs of the configuration: the checks a run makes
// before it reads anything.
func (v *validation) checkConfig(path string, env config.Environment) {
	v.Config = path
	c, err := config.Load(path, env)
	if err != nil {
		v.Problems = append(v.Problems, yamlfile.AsProblems(path, err)...)
		return
	}
	v.Warnings = append(v.Warnings, c.Warnings...)
	if m := v.checkMapping(c.Mapping.File); m != nil {
		v.Problems = append(v.Problems, c.CheckMapping(m)...)
	}
}

// checkMapping compiles a mapping file and runs its tests; it returns the
// mapping when it compiles.
func (v *validation) checkMapping(file string) *mapping.Mapping {
	v.Files = append(v.Files, file)
	m, err := mapping.Load(file)
	if err != nil {
		v.Problems = append(v.Problems, yamlfile.AsProblems(file, err)...)
		return nil
	}
	v.Tests += m.Tests()
	v.Problems = append(v.Problems, m.RunTests()...)
	return m
}
