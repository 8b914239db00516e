package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// defaultDomains are the emulated tenant's verified domains unless
// --verified-domain says otherwise; they match the shipped demo.
var defaultDomains = []string{"contoso.onmicrosoft.com", "partners.contoso.com"}

func (a *app) emulatorCommand() *cobra.Command {
	var listen, token string
	var domains []string
	cmd := &cobra.Command{
		Use:   "graph-emulator",
		Short: "Serve an emulated Microsoft Graph for tests and demos",
		Long: `Serves the parts of Microsoft Graph guestsync uses (users, organization),
behaving as Microsoft documents: status codes, error bodies, paging and
validation. Prints its base URL as the first line on stdout and serves
until interrupted. State is kept in memory.`,
		Example: "  guestsync graph-emulator --listen 127.0.0.1:8870 --verified-domain partners.contoso.com",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(domains) == 0 {
				domains = defaultDomains
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("listen on %s: %w", listen, err))
			}
			sim := graphsim.New(graphsim.Options{VerifiedDomains: domains, Token: token, Logger: a.logger()})
			fmt.Fprintf(a.out, "http://%s/v1.0\n", ln.Addr())
			return serve(contextOf(cmd), ln, sim)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8870", "address to listen on")
	f.StringSliceVar(&domains, "verified-domain", nil, "a verified domain of the emulated tenant (repeatable; default "+fmt.Sprint(defaultDomains)+")")
	f.StringVar(&token, "token", "", "bearer token to require (default: accept any)")
	return cmd
}

// serve runs handler on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, handler http.Handler) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return withCode(exitFailed, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return withCode(exitFailed, err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return withCode(exitFailed, err)
	}
	return nil
}
