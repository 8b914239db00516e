package graphsim

import (
	"net/http"
	"strings"
)

const orgContext = graphMetadata + "#organization"

// routeOrganization serves /organization and /organization/{id}.
func (s *Server) routeOrganization(c *call, rest []string) *graphError {
	if c.r.Method != http.MethodGet {
		return errMethodNotAllowed()
	}
	org := s.organization()
	switch len(rest) {
	case 0:
		c.writeJSON(http.StatusOK, map[string]any{
			"@odata.context": orgContext,
			"value":          []any{org},
		})
		return nil
	case 1:
		if !strings.EqualFold(rest[0], s.opts.TenantID) {
			return errResourceNotFound(rest[0])
		}
		org["@odata.context"] = orgContext + "/$entity"
		c.writeJSON(http.StatusOK, org)
		return nil
	default:
		return errSegmentNotFound(rest[1])
	}
}

// organization renders the tenant. Graph docs, "organization resource type"
// and "verifiedDomain resource type": each verified domain has name,
// isDefault, isInitial, type ("Managed" or "Federated") and capabilities (a
// comma-separated list such as "Email, OfficeCommunicationsOnlineOrganization").
func (s *Server) organization() map[string]any {
	initial := -1
	for i, d := range s.domains {
		if strings.HasSuffix(strings.ToLower(d), ".onmicrosoft.com") {
			initial = i
			break
		}
	}
	domains := make([]any, 0, len(s.domains))
	for i, d := range s.domains {
		domains = append(domains, map[string]any{
			"capabilities": "Email, OfficeCommunicationsOnlineOrganization",
			"isDefault":    i == 0,
			"isInitial":    i == initial,
			"name":         d,
			"type":         "Managed",
		})
	}
	return map[string]any{
		"id":                         s.opts.TenantID,
		"displayName":                s.opts.TenantName,
		"tenantType":                 "AAD",
		"businessPhones":             []any{},
		"technicalNotificationMails": []any{},
		"verifiedDomains":            domains,
	}
}
