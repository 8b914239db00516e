package graphsim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The groups, applications and service principals in a Snapshot. The
// fields are omitted when empty, so a tenant of users only writes the
// same file as before, and a file without them loads as a tenant without
// them.

type snapshotObject struct {
	ID         string         `json:"id"`
	Seq        uint64         `json:"seq"`
	Changed    uint64         `json:"changed"`
	Properties map[string]any `json:"properties"`
}

type snapshotGroup struct {
	snapshotObject
	Members []snapshotMember `json:"members,omitempty"`
}

// snapshotMember is a memberMark: a member now (present), or one that
// left, kept for groups/delta.
type snapshotMember struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Present bool   `json:"present"`
	Seq     uint64 `json:"seq"`
	Order   uint64 `json:"order"`
}

type snapshotServicePrincipal struct {
	snapshotObject
	AppRoleAssignedTo []snapshotAssignment `json:"appRoleAssignedTo,omitempty"`
}

type snapshotAssignment struct {
	ID         string         `json:"id"`
	Seq        uint64         `json:"seq"`
	Properties map[string]any `json:"properties"`
}

// directorySnapshot is the part of snapshot that holds the directory.
type directorySnapshot struct {
	DirectorySeq      uint64                     `json:"directorySeq,omitempty"`
	Groups            []snapshotGroup            `json:"groups,omitempty"`
	RemovedGroups     []snapshotRemoval          `json:"removedGroups,omitempty"`
	Applications      []snapshotObject           `json:"applications,omitempty"`
	ServicePrincipals []snapshotServicePrincipal `json:"servicePrincipals,omitempty"`
}

func snapObject(o *dirObject) snapshotObject {
	return snapshotObject{ID: o.id, Seq: o.seq, Changed: o.changed, Properties: maps.Clone(o.props)}
}

// snapshot writes d in creation order. The caller holds the Server's mutex.
func (d *directory) snapshot() directorySnapshot {
	snap := directorySnapshot{DirectorySeq: d.nextSeq}
	for _, g := range d.orderedGroups() {
		sg := snapshotGroup{snapshotObject: snapObject(&g.dirObject)}
		for _, m := range g.members {
			sg.Members = append(sg.Members, snapshotMember{ID: m.id, Kind: m.kind, Present: m.present, Seq: m.seq, Order: m.order})
		}
		slices.SortFunc(sg.Members, func(a, b snapshotMember) int { return cmpSeq(a.Seq, b.Seq) })
		snap.Groups = append(snap.Groups, sg)
	}
	for _, t := range d.groupTombs {
		snap.RemovedGroups = append(snap.RemovedGroups, snapshotRemoval{ID: t.id, Seq: t.seq, Reason: t.reason})
	}
	slices.SortFunc(snap.RemovedGroups, func(a, b snapshotRemoval) int { return cmpSeq(a.Seq, b.Seq) })
	for _, a := range d.apps {
		snap.Applications = append(snap.Applications, snapObject(a))
	}
	slices.SortFunc(snap.Applications, func(a, b snapshotObject) int { return cmpSeq(a.Seq, b.Seq) })
	for _, sp := range d.sps {
		ss := snapshotServicePrincipal{snapshotObject: snapObject(&sp.dirObject)}
		for _, a := range sp.assigned {
			ss.AppRoleAssignedTo = append(ss.AppRoleAssignedTo, snapshotAssignment{ID: a.id, Seq: a.seq, Properties: maps.Clone(a.props)})
		}
		snap.ServicePrincipals = append(snap.ServicePrincipals, ss)
	}
	slices.SortFunc(snap.ServicePrincipals, func(a, b snapshotServicePrincipal) int { return cmpSeq(a.Seq, b.Seq) })
	return snap
}

// loadDirectory rebuilds a directory from a snapshot.
func (t schemas) loadDirectory(snap directorySnapshot) (*directory, error) {
	d := newDirectory()
	d.nextSeq = snap.DirectorySeq
	object := func(what string, sc *schema, so snapshotObject) (*dirObject, error) {
		if so.ID == "" || so.Seq == 0 {
			return nil, fmt.Errorf("graphsim: snapshot: a %s without id or seq", what)
		}
		props, err := sc.propsFromSnapshot(what+" "+so.ID, so.Properties)
		if err != nil {
			return nil, err
		}
		d.nextSeq = max(d.nextSeq, so.Seq)
		return &dirObject{id: so.ID, seq: so.Seq, changed: so.Changed, props: props}, nil
	}
	for _, sg := range snap.Groups {
		o, err := object("group", t.group, sg.snapshotObject)
		if err != nil {
			return nil, err
		}
		g := &groupRecord{dirObject: *o, members: map[string]*memberMark{}}
		for _, m := range sg.Members {
			if m.Kind != "user" && m.Kind != "group" {
				return nil, fmt.Errorf("graphsim: snapshot: group %s: member %s of kind %q", g.id, m.ID, m.Kind)
			}
			g.members[strings.ToLower(m.ID)] = &memberMark{id: m.ID, kind: m.Kind, present: m.Present, seq: m.Seq, order: m.Order}
		}
		d.groups[strings.ToLower(g.id)] = g
	}
	for _, r := range snap.RemovedGroups {
		d.groupTombs[strings.ToLower(r.ID)] = tombstone{id: r.ID, seq: r.Seq, reason: r.Reason}
	}
	for _, sa := range snap.Applications {
		a, err := object("application", t.application, sa)
		if err != nil {
			return nil, err
		}
		d.apps[strings.ToLower(a.id)] = a
	}
	for _, ss := range snap.ServicePrincipals {
		o, err := object("servicePrincipal", t.servicePrincipal, ss.snapshotObject)
		if err != nil {
			return nil, err
		}
		sp := &servicePrincipal{dirObject: *o}
		for _, a := range ss.AppRoleAssignedTo {
			if _, ok := a.Properties["principalId"].(string); !ok || a.ID == "" {
				return nil, fmt.Errorf("graphsim: snapshot: servicePrincipal %s: an assignment without id or principalId", sp.id)
			}
			d.nextSeq = max(d.nextSeq, a.Seq)
			sp.assigned = append(sp.assigned, &roleAssignment{id: a.ID, seq: a.Seq, props: a.Properties})
		}
		d.sps[strings.ToLower(sp.id)] = sp
	}
	return d, nil
}

// propsFromSnapshot checks the stored values of one object against sc and
// converts JSON arrays of strings back to []string.
func (sc *schema) propsFromSnapshot(what string, in map[string]any) (map[string]any, error) {
	props := map[string]any{}
	for k, v := range in {
		p := sc.byName[k]
		if p == nil {
			return nil, fmt.Errorf("graphsim: snapshot: %s: unknown property %q", what, k)
		}
		if list, ok := v.([]any); ok && p.kind == kindStrings {
			ss := make([]string, 0, len(list))
			for _, x := range list {
				str, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("graphsim: snapshot: %s: %s must be a list of strings", what, k)
				}
				ss = append(ss, str)
			}
			v = ss
		}
		props[k] = v
	}
	return props, nil
}
