package graph

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Tenant returns the id of the tenant behind the client's Graph root, so
// that what a state file remembers of one tenant (a delta link, its
// guests, grace clocks) is never taken for another's: the same root
// serves every tenant of a cloud, and an emulator started afresh is a new
// tenant at the old address.
//
// It asks GET /organization?$select=id (Graph docs, "Get organization":
// the tenant's organization object, whose id is the tenant id). That
// needs Organization.Read.All as an application permission ("Get
// organization", permissions), which User.ReadWrite.All does not grant;
// when Graph answers 403 the tenant is taken from the access token's tid
// claim instead: the tenant the app signed in to, which is the tenant
// Graph serves it (Microsoft identity platform docs, "Access token claims
// reference": access tokens are JWTs, payload claim tid names the tenant).
//
// It is one request per run, sent on its own before the round's first
// page: its answer decides which link that page uses, so putting both in
// one $batch would send the remembered link to whatever tenant is there
// before knowing whether it issued it.
func (c *Client) Tenant(ctx context.Context) (string, error) {
	id, err := getRetrying(ctx, func() (string, error) { return c.organizationID(ctx) })
	if err == nil {
		return id, nil
	}
	f := failure(err)
	if f.Status != http.StatusForbidden {
		return "", fmt.Errorf("GET /organization: %w", f)
	}
	tid, terr := c.tokenTenant(ctx)
	if terr != nil {
		return "", fmt.Errorf("GET /organization: %w (grant the application Organization.Read.All, or sign in with a token that names its tenant: %v)", f, terr)
	}
	c.log.Debug("tenant taken from the access token: GET /organization is not permitted", "tenant", tid)
	return tid, nil
}

// organizationID reads the id of the one organization Graph returns.
func (c *Client) organizationID(ctx context.Context) (string, error) {
	ri := abs.NewRequestInformation()
	ri.Method = abs.GET
	ri.SetUri(mustURL(c.base + "/organization?$select=id"))
	ri.Headers.TryAdd("Accept", "application/json")
	raw, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue})
	if err != nil {
		return "", err
	}
	b, _ := raw.([]byte)
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return "", fmt.Errorf("decode organization: %w", err)
	}
	if len(page.Value) != 1 || page.Value[0].ID == "" {
		return "", fmt.Errorf("GET /organization returned %d organizations, want one with an id", len(page.Value))
	}
	return page.Value[0].ID, nil
}

// tokenTenant reads the tid claim of the client's access token. The token
// is only decoded, not verified: it comes from the client's own
// credential, and Graph verifies it on every request.
func (c *Client) tokenTenant(ctx context.Context) (string, error) {
	tok, err := c.opts.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return "", fmt.Errorf("get a token: %w", err)
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return "", errors.New("the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", errors.New("the access token's claims do not decode")
	}
	var claims struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.TID == "" {
		return "", errors.New("the access token has no tid claim")
	}
	return claims.TID, nil
}
