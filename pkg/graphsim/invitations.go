package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

const invitationsContext = graphMetadata + "#invitations/$entity"

// routeInvitations serves /invitations. Graph docs, "invitation resource
// type": the only method is "Create invitation" (POST); invitations cannot
// be read back.
func (s *Server) routeInvitations(c *call, rest []string) *graphError {
	if len(rest) > 0 {
		return errSegmentNotFound(rest[0])
	}
	if c.r.Method != http.MethodPost {
		return errMethodNotAllowed()
	}
	return s.invite(c)
}

// invitationRequest is the decoded body. Graph docs, "Create invitation"
// and "invitation resource type".
type invitationRequest struct {
	email, redirect, displayName, userType string
	send                                   bool
	messageInfo                            map[string]any
}

// invitationField returns the JSON type ("string", "bool", "object") of a
// writable invitation property.
func invitationField(name string) (string, bool) {
	switch name {
	case "invitedUserEmailAddress", "inviteRedirectUrl", "invitedUserDisplayName", "invitedUserType":
		return "string", true
	case "sendInvitationMessage", "resetRedemption":
		return "bool", true
	case "invitedUserMessageInfo", "invitedUser":
		return "object", true
	}
	return "", false
}

func decodeInvitation(body []byte) (*invitationRequest, *graphError) {
	body = bytes.TrimSpace(body)
	var raw map[string]json.RawMessage
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &raw) != nil {
		return nil, errUnreadablePayload()
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	values := map[string]any{}
	for _, k := range names {
		if isAnnotation(k) {
			continue
		}
		kind, ok := invitationField(k)
		if !ok {
			// OData's reader rejects a property the type does not declare.
			return nil, newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(
				"The property '%s' does not exist on type 'microsoft.graph.invitation'. Make sure to only use property names that are defined by the type.", k))
		}
		if string(raw[k]) == "null" {
			continue
		}
		var v any
		bad := false
		switch kind {
		case "string":
			var s string
			bad, v = json.Unmarshal(raw[k], &s) != nil, s
		case "bool":
			var b bool
			bad, v = json.Unmarshal(raw[k], &b) != nil, b
		case "object":
			var m map[string]any
			bad, v = json.Unmarshal(raw[k], &m) != nil, m
		}
		if bad {
			return nil, newError(http.StatusBadRequest, codeBadRequest,
				fmt.Sprintf("Cannot convert the literal '%s' to the expected type for property '%s'.", strings.Trim(string(raw[k]), `"`), k))
		}
		values[k] = v
	}
	if v, _ := values["resetRedemption"].(bool); v {
		return nil, errNotEmulated("resetRedemption")
	}
	req := &invitationRequest{userType: "Guest"}
	req.email, _ = values["invitedUserEmailAddress"].(string)
	req.redirect, _ = values["inviteRedirectUrl"].(string)
	req.displayName, _ = values["invitedUserDisplayName"].(string)
	req.send, _ = values["sendInvitationMessage"].(bool)
	req.messageInfo, _ = values["invitedUserMessageInfo"].(map[string]any)
	if t, ok := values["invitedUserType"].(string); ok {
		req.userType = t
	}
	return req, nil
}

// validate applies the documented body rules. Graph docs, "Create
// invitation": invitedUserEmailAddress and inviteRedirectUrl are required.
// "invitation resource type", invitedUserEmailAddress: in the user name,
// ~ ! # $ % ^ & * ( ) + = [ ] { } \ / | ; : " < > ? , are not permitted; a
// period or hyphen is permitted except at the beginning or end; an
// underscore anywhere. invitedUserType: Guest (default) or Member. The
// exact error texts are not documented; these name the property.
func (req *invitationRequest) validate() *graphError {
	bad := func(property, why string) *graphError {
		msg := fmt.Sprintf("Invalid value specified for property '%s' of resource 'Invitation': %s", property, why)
		return newError(http.StatusBadRequest, codeBadRequest, msg,
			errorDetail{Code: codeInvalidValue, Message: msg, Target: property})
	}
	if req.email == "" {
		return newError(http.StatusBadRequest, codeBadRequest,
			"Property invitedUserEmailAddress value is required but is empty or missing.")
	}
	if req.redirect == "" {
		return newError(http.StatusBadRequest, codeBadRequest,
			"Property inviteRedirectUrl value is required but is empty or missing.")
	}
	local, domain, ok := strings.Cut(req.email, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "@ ") ||
		strings.ContainsAny(local, "~!#$%^&*()+=[]{}\\/|;:\"<>?, ") ||
		strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") ||
		strings.HasPrefix(local, "-") || strings.HasSuffix(local, "-") {
		return bad("invitedUserEmailAddress", "not a valid email address.")
	}
	if u, err := url.Parse(req.redirect); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("inviteRedirectUrl", "not an absolute http or https URL.")
	}
	switch strings.ToLower(req.userType) {
	case "guest":
		req.userType = "Guest"
	case "member":
		req.userType = "Member"
	default:
		return bad("invitedUserType", "must be Guest or Member.")
	}
	return nil
}

// invite serves POST /invitations. Graph docs, "Create invitation": "When
// the user is invited, a user entity (of userType Guest) is created", 201
// with the invitation, status PendingAcceptance. The user carries
// externalUserState PendingAcceptance and creationType "Invitation" ("user
// resource type"), mail and a proxy address for the invited address, and
// the UPN alias_domain#EXT#@<initial domain> (GRAPH.md). Without
// invitedUserDisplayName the display name is the address's user name.
//
// An address that already belongs to a user (as UPN, mail, proxy address or
// other mail: Entra docs, "B2B collaboration API and customization",
// "Determine if a user was already invited": "If the user already exists in
// your resource directory, they won't receive an invitation") creates no
// second user: the answer names the existing user, with status
// PendingAcceptance while that user has not redeemed, else Completed.
func (s *Server) invite(c *call) *graphError {
	body, gerr := readBody(c.r)
	if gerr != nil {
		return gerr
	}
	req, gerr := decodeInvitation(body)
	if gerr != nil {
		return gerr
	}
	if gerr = req.validate(); gerr != nil {
		return gerr
	}

	s.mu.Lock()
	guest := s.newGuest(c, req)
	u := s.findInvitee(req.email)
	if u == nil {
		// The guest UPN itself may be taken, by an earlier guest whose mail
		// has changed since.
		u = s.users.byUPN[strings.ToLower(guest.str("userPrincipalName"))]
	}
	status := "PendingAcceptance"
	switch {
	case u == nil:
		u = guest
		s.users.add(u)
		s.touch(u)
	case u.str("externalUserState") != "PendingAcceptance":
		status = "Completed"
	}
	userID := u.id
	s.mu.Unlock()

	invitationID := newGUID()
	c.writeJSON(http.StatusCreated, map[string]any{
		"@odata.context":          invitationsContext,
		"id":                      invitationID,
		"inviteRedeemUrl":         s.redeemURL(invitationID),
		"invitedUserDisplayName":  nullable(req.displayName),
		"invitedUserType":         req.userType,
		"invitedUserEmailAddress": req.email,
		"sendInvitationMessage":   req.send,
		"resetRedemption":         false,
		"inviteRedirectUrl":       req.redirect,
		"status":                  status,
		"invitedUserMessageInfo":  messageInfo(req.messageInfo),
		"invitedUser":             map[string]any{"id": userID},
	})
	return nil
}

// findInvitee finds an active user that already answers to addr, the
// first created if several do. The caller holds s.mu.
func (s *Server) findInvitee(addr string) *userRecord {
	return s.users.invitee(addr)
}

// newGuest builds the user an invitation creates.
func (s *Server) newGuest(c *call, req *invitationRequest) *userRecord {
	local, domain, _ := strings.Cut(req.email, "@")
	alias := local + "_" + strings.ToLower(domain) + "#EXT#"
	display := req.displayName
	if display == "" {
		display = local
	}
	now := c.now.UTC().Format(time.RFC3339)
	props := map[string]any{
		"accountEnabled":                  true,
		"displayName":                     display,
		"mail":                            req.email,
		"mailNickname":                    alias,
		"userPrincipalName":               alias + "@" + s.initial,
		"userType":                        req.userType,
		"externalUserState":               "PendingAcceptance",
		"externalUserStateChangeDateTime": now,
		"creationType":                    "Invitation",
		"createdDateTime":                 now,
	}
	setProxyAddresses(props)
	return &userRecord{id: newGUID(), props: props, visibleAt: s.lagUntil(c.now)}
}

// redeemURL has the shape of Graph's inviteRedeemUrl (Graph docs, "Create
// invitation", example response): a login.microsoftonline.com redeem link
// wrapping invitations.microsoft.com with tenant, user and ticket.
func (s *Server) redeemURL(invitationID string) string {
	ticket := base64.RawURLEncoding.EncodeToString([]byte(newGUID()))
	inner := fmt.Sprintf("https://invitations.microsoft.com/redeem/?tenant=%s&user=%s&ticket=%s&ver=2.0",
		s.opts.TenantID, invitationID, ticket)
	return "https://login.microsoftonline.com/redeem?rd=" + url.QueryEscape(inner)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// messageInfo echoes invitedUserMessageInfo with Graph's members
// (messageLanguage, customizedMessageBody, ccRecipients).
func messageInfo(in map[string]any) map[string]any {
	out := map[string]any{"messageLanguage": nil, "customizedMessageBody": nil, "ccRecipients": []any{}}
	for _, k := range []string{"messageLanguage", "customizedMessageBody", "ccRecipients"} {
		if v, ok := in[k]; ok && v != nil {
			out[k] = v
		}
	}
	return out
}
