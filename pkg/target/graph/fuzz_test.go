package graph

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	jsonser "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// FuzzDecodeGraphResponse feeds one body to every reader of Graph's
// answers, decoding it as the client does: a $batch answer and what is
// read from each item (Graph's error, the created id, the ownership mark
// of a check, a clash lookup), a users page through the SDK's parse node
// (Current, Deleted), an error body through the SDK's error factory
// (failure), and a users/delta page (Changes). None may panic; a failure
// always has a message, of bounded size.
func FuzzDecodeGraphResponse(f *testing.F) {
	for _, seed := range []string{
		`{"responses":[{"id":"1","status":201,"headers":{"Content-Type":"application/json"},"body":{"id":"5f0c","userPrincipalName":"zoe@partners.contoso.com"}},` +
			`{"id":"2","status":429,"headers":{"Retry-After":"2.5"},"body":{"error":{"code":"TooManyRequests","message":"Please retry again later.","innerError":{"request-id":"r1","date":"2026-01-01T00:00:00"}}}},` +
			`{"id":"3","status":400,"body":{"error":{"code":"Request_BadRequest","message":"Another object with the same value for property userPrincipalName already exists.","details":[{"code":"ObjectConflict","target":"userPrincipalName"}]}}},` +
			`{"id":"4","status":200,"body":{"id":"7a","onPremisesExtensionAttributes":{"extensionAttribute15":"guestsync:default"}}},` +
			`{"id":"5","status":200,"body":{"value":[{"id":"7a","userType":"Guest","onPremisesImmutableId":"QUFB","onPremisesExtensionAttributes":{"extensionAttribute15":"guestsync:default"}}]}},` +
			`{"id":"6","status":204}]}`,
		`{"value":[{"id":"1","displayName":"Zoë","accountEnabled":true,"userType":"Guest","employeeId":null,"onPremisesExtensionAttributes":{"extensionAttribute15":"guestsync:default"}}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=X"}`,
		`{"error":{"code":"syncStateNotFound","message":"The delta token is expired.","innerError":{"request-id":"r2","date":"2026-01-01T00:00:00"}}}`,
		`{"value":[{"id":"1","userType":"Guest","onPremisesImmutableId":"QUFB","displayName":"Zo\u00eb","mail":null},{"id":"2","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta()?$deltatoken=Y"}`,
		`{"error":null}`, `{"responses":null}`, `[]`, `null`, `"x"`, ``, `{`,
	} {
		f.Add([]byte(seed), uint16(200))
	}
	f.Add([]byte(`<html>Bad Gateway</html>`), uint16(502))
	c, err := New(Options{URL: "http://127.0.0.1:1/v1.0", Credential: StaticToken("t")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		checkFailureMessage := func(where, msg string) {
			if msg == "" {
				t.Fatalf("%s: a failure without a message", where)
			}
			if n := utf8.RuneCountInString(msg); n > maxGraphMessage+200 {
				t.Fatalf("%s: a message of %d characters", where, n)
			}
		}

		// $batch answers, and each item as tryBatch and its callers read it.
		if answers, err := decodeBatchAnswer(body); err == nil {
			for _, a := range answers {
				checkFailureMessage("batch item", itemFailure(a).Message)
				if d := retryAfter(a.Headers["Retry-After"]); d < 0 || d > maxRetryAfter {
					t.Fatalf("Retry-After %q gives a wait of %v", a.Headers["Retry-After"], d)
				}
				o := &op{status: a.Status, resp: a.Body}
				if f := c.checked(o); f != nil {
					checkFailureMessage("check", f.Message)
				}
				c.ownGuest(o, "QUFB")
				var created struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(a.Body, &created)
			}
		} else if err.Error() == "" {
			t.Fatal("a decode error without a message")
		}

		// A users page, through the SDK's JSON parse node as the request
		// adapter builds it.
		if node, err := jsonser.NewJsonParseNode(body); err == nil {
			if v, err := node.GetObjectValue(models.CreateUserCollectionResponseFromDiscriminatorValue); err == nil && v != nil {
				if page, ok := v.(models.UserCollectionResponseable); ok {
					for _, u := range page.GetValue() {
						if u == nil {
							continue
						}
						toGuest(u)
						c.owner.owns(u)
					}
					_ = page.GetOdataNextLink()
				}
			}
			// An error answer, through the error factory the client
			// registers for every status.
			if v, err := node.GetObjectValue(odataerrors.CreateODataErrorFromDiscriminatorValue); err == nil && v != nil {
				if oe, ok := v.(*odataerrors.ODataError); ok {
					oe.SetStatusCode(int(status))
					fl := failure(oe)
					checkFailureMessage("error body", fl.Message)
					_ = fl.Error()
					resyncNeeded(fl.Status, fl.Code)
				}
			}
		}

		// A users/delta page, as deltaPage and Changes read it.
		var p deltaPage
		if json.Unmarshal(body, &p) == nil {
			for _, fields := range p.Value {
				if _, _, err := c.toChange(fields, len(body)%2 == 0); err != nil && err.Error() == "" {
					t.Fatal("a delta error without a message")
				}
			}
		}
	})
}
