// Command guestsync gives partner accounts from an on-premises directory the
// same identity in Microsoft Entra ID, as guest users created and kept up to
// date through Microsoft Graph.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/guestsync/guestsync/pkg/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{out: os.Stdout, err: os.Stderr}, config.ProcessEnvironment())
	stop()
	os.Exit(code)
}
