package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/mapping/expr"
)

func (a *app) exprCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "expr",
		Short:   "Work with Entra provisioning expressions",
		Example: `  guestsync expr eval --attr givenName=Zoë 'NormalizeDiacritics([givenName])'`,
	}
	cmd.AddCommand(a.exprEvalCommand())
	return cmd
}

func (a *app) exprEvalCommand() *cobra.Command {
	var attrs []string
	var format string
	cmd := &cobra.Command{
		Use:   "eval [--attr NAME=VALUE]... EXPRESSION",
		Short: "Evaluate one expression against attributes given on the command line",
		Long: `Evaluates an expression in Microsoft's Entra provisioning expression language
and prints the value followed by a newline: one line per value for a
multi-valued result, nothing for Null. Repeat --attr with the same name for a
multi-valued attribute; --attr name= gives a present but empty value; an
attribute not given is Null. A syntax or evaluation error exits 2 with the
message on stderr. --format json prints a JSON string, array or null.`,
		Example: `  guestsync expr eval --attr givenName=Zoë 'NormalizeDiacritics([givenName])'
  guestsync expr eval 'Left("John Doe", 3)'
  guestsync expr eval --attr proxyAddresses=SMTP:a@x --attr proxyAddresses=smtp:b@x --format json 'ToLower([proxyAddresses])'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return withCode(exitUsage, fmt.Errorf("--format must be text or json, not %q", format))
			}
			env := expr.MapEnv{}
			for _, kv := range attrs {
				name, value, ok := strings.Cut(kv, "=")
				if !ok || name == "" {
					return withCode(exitUsage, fmt.Errorf("--attr %q: want NAME=VALUE", kv))
				}
				env[name] = append(env[name], value)
			}
			x, err := expr.Compile(args[0])
			if err != nil {
				return withCode(exitUsage, err)
			}
			v, err := x.Eval(env)
			if err != nil {
				return withCode(exitUsage, err)
			}
			var values []string
			if !v.IsNull() && !v.Ignored() {
				values = v.Strings()
			}
			if format == "json" {
				var out any // null
				switch {
				case v.IsMulti():
					out = append([]string{}, values...)
				case values != nil:
					out = values[0]
				}
				b, err := json.Marshal(out)
				if err != nil {
					return withCode(exitFailed, err)
				}
				fmt.Fprintln(a.out, string(b))
				return nil
			}
			for _, s := range values {
				fmt.Fprintln(a.out, s)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&attrs, "attr", nil, "an attribute value as NAME=VALUE (repeat for several values)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
