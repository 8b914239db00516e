package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/config"
)

// Exit codes, documented in `guestsync --help` and the README.
const (
	exitOK     = 0 // success
	exitFailed = 1 // the run failed, or some objects failed
	exitUsage  = 2 // usage or configuration error
	exitRail   = 3 // stopped by a safety rail
	// exitRefused: the source read could not be trusted (incomplete, or
	// empty where entries were expected); nothing changed.
	exitRefused = 4
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

type streams struct {
	out, err io.Writer
}

// exitError carries an exit code up to run.
type exitError struct {
	code int
	err  error
}

// Errors whose exit code is the whole message: what they mean is already
// on the output, so run prints nothing for them.
var (
	// errChangesPending is plan --exit-code's 2: the plan shows the
	// changes.
	errChangesPending = errors.New("")
	// errOutputLost is the 1 of a run whose report or metrics could not
	// be written: writeOutputs said which.
	errOutputLost = errors.New("")
)

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// app holds what every command shares: the streams, the environment and
// the global flags. There are no package-level variables.
type app struct {
	streams
	env        config.Environment
	configPath string
	logLevel   string
	logFormat  string
}

func run(ctx context.Context, args []string, s streams, env config.Environment) int {
	a := &app{streams: s, env: env}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(s.out)
	root.SetErr(s.err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(s.err, "guestsync:", ee.err)
		}
		return ee.code
	}
	// Cobra's own errors: unknown command or flag, wrong argument count.
	fmt.Fprintln(s.err, "guestsync:", err)
	return exitUsage
}

const rootLong = `guestsync reads partner accounts from Active Directory or any LDAP
directory, applies declarative mapping rules, and creates, updates and
disables them in Microsoft Entra ID as guest users through Microsoft Graph.

With direction: guests-to-shadows in its config, it works the other way
round: the tenant's B2B guests (every guest, members of groups, or the
users assigned to an enterprise application) become shadow accounts in
Active Directory, users with the guest's UPN that Kerberos apps behind
Entra application proxy can authorise. The same commands serve both
directions.

Exit codes:
  0  success
  1  the run failed, or some objects failed
  2  usage or configuration error
  3  stopped by a safety rail (the removal threshold, or a reviewed plan
     that no longer holds); nothing changed
  4  refused: the source read could not be trusted (incomplete, or empty
     where entries were expected); nothing changed

Configuration is read from --config, $GUESTSYNC_CONFIG, ./guestsync.yaml,
$XDG_CONFIG_HOME/guestsync/guestsync.yaml or /etc/guestsync/guestsync.yaml;
every key can be overridden with GUESTSYNC_<SECTION>_<KEY>.`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "guestsync",
		Short:         "Sync partner accounts to Entra ID guests, and guests to AD shadow accounts",
		Long:          rootLong,
		Example:       "  guestsync demo\n  guestsync plan --config /etc/guestsync/guestsync.yaml\n  guestsync sync --log-format json",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := parseLevel(a.logLevel); err != nil {
				return withCode(exitUsage, err)
			}
			if a.logFormat != "text" && a.logFormat != "json" {
				return withCode(exitUsage, fmt.Errorf("--log-format must be text or json, not %q", a.logFormat))
			}
			return nil
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configPath, "config", "", "config file (default: $GUESTSYNC_CONFIG, ./guestsync.yaml, $XDG_CONFIG_HOME/guestsync/guestsync.yaml, /etc/guestsync/guestsync.yaml)")
	f.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(
		a.versionCommand(),
		a.demoCommand(),
		a.planCommand(),
		a.syncCommand(),
		a.applyCommand(),
		a.previewCommand(),
		a.validateCommand(),
		a.exprCommand(),
		a.sourceCommand(),
		a.emulatorCommand(),
	)
	return root
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", s)
	}
	return l, nil
}

// logger writes to stderr, keeping stdout for plans and results.
func (a *app) logger() *slog.Logger {
	level, _ := parseLevel(a.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	if a.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(a.err, opts))
	}
	return slog.New(slog.NewTextHandler(a.err, opts))
}

// loadConfig finds and loads the configuration; problems exit with 2.
func (a *app) loadConfig() (*config.Config, error) {
	return a.loadConfigWith(config.Load)
}

// loadConfigWith is loadConfig with config.Load or config.LoadSource.
func (a *app) loadConfigWith(load func(string, config.Environment) (*config.Config, error)) (*config.Config, error) {
	path, err := config.Find(a.configPath, a.env)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	c, err := load(path, a.env)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("invalid configuration:\n%w", err))
	}
	for _, w := range c.Warnings {
		a.logger().Warn(w.Error())
	}
	return c, nil
}

// isTerminal reports whether w is a terminal, for colour.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print guestsync's version",
		Example: "  guestsync version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if v == "" {
				v = "(devel)"
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			fmt.Fprintf(a.out, "guestsync %s\n", strings.TrimSpace(v))
			return nil
		},
	}
}

// contextOf returns the command's context.
func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
