package config

import (
	"fmt"

	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// CheckMapping returns what the config lacks for the mapping it names, m:
// the rules that need both, which Load cannot check because it does not
// read the mapping. validate reports them and a run refuses to start on
// them, so that both say the same.
func (c *Config) CheckMapping(m *mapping.Mapping) yamlfile.Problems {
	var ps yamlfile.Problems
	want := mapping.TargetGraph
	if c.Direction == DirectionGuestsToShadows {
		want = mapping.TargetAD
	}
	if m.Target != want {
		ps = append(ps, c.at("mapping.file",
			"mapping %s writes target %s, but direction %s needs a mapping with target: %s", m.File, m.Target, c.Direction, want))
	}
	if m.Mode == mapping.ModeInvite && c.Graph.Invitation.RedirectURL == "" {
		mode := m.File
		if m.ModeLine > 0 {
			mode = fmt.Sprintf("%s:%d", m.File, m.ModeLine)
		}
		ps = append(ps, c.at("graph.invitation.redirectURL",
			"required: mapping %s invites guests (mode: invite), and Graph requires a redirect URL for every invitation (set it, or graph.tenantID to default to the tenant's My Apps)", mode))
	}
	return ps
}

// sharedOwner warns when graph.owner is left at the default while removals
// are on: removals act on every guest with this instance's mark, and two
// instances sharing the default mark in one tenant would remove each
// other's guests.
func (c *Config) sharedOwner() yamlfile.Problems {
	if c.Policy.Removal == "none" || c.Policy.Mode != "sync" {
		return nil
	}
	if c.Direction == DirectionGuestsToShadows {
		if c.AD.Owner != Defaults().AD.Owner {
			return nil
		}
		return yamlfile.Problems{c.at("ad.owner",
			"%q is the default: if another guestsync with the default owner keeps shadows in this domain, each will see the other's shadows as its own and remove them; set ad.owner to a name for this tenant", c.AD.Owner)}
	}
	if c.Graph.Owner != Defaults().Graph.Owner {
		return nil
	}
	return yamlfile.Problems{c.at("graph.owner",
		"%q is the default: if another guestsync with the default owner syncs into this tenant, each will see the other's guests as its own and remove them; set graph.owner to a name for this source", c.Graph.Owner)}
}

// at is a problem about a key of the config file, shown at the key, or at
// the section it belongs in when the file leaves it out (it may come from
// the environment or a default).
func (c *Config) at(path, format string, args ...any) yamlfile.Problem {
	p := yamlfile.Problem{File: c.File, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n := yamlfile.Nearest(c.doc, path); n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	return p
}
