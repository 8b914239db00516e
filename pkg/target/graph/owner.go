package graph

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// Ownership: guestsync marks every guest it creates (or adopts) on the user
// object itself, in one of the 15 onPremisesExtensionAttributes, which Graph
// lets an application write on cloud users. It never updates, disables or
// deletes a user without its mark, so other tools' and admins' guests are
// safe even when their anchor or UPN collides.

// DefaultOwnerAttribute is the extension attribute that holds the mark.
const DefaultOwnerAttribute = "extensionAttribute15"

var ownerAttributeRE = regexp.MustCompile(`^extensionAttribute([1-9]|1[0-5])$`)

// Mark is guestsync's ownership mark for an owner id: several guestsync
// instances (or tenants' environments) can share a tenant with different
// owner ids without touching each other's guests.
func Mark(owner string) string { return "guestsync:" + owner }

// owner reads and writes the mark in one extension attribute.
type owner struct {
	attribute string // extensionAttributeN
	mark      string
	get       string // SDK method names
	set       string
}

func newOwner(attribute, id string) (owner, error) {
	if attribute == "" {
		attribute = DefaultOwnerAttribute
	}
	if !ownerAttributeRE.MatchString(attribute) {
		return owner{}, fmt.Errorf("owner attribute %q: use extensionAttribute1 to extensionAttribute15", attribute)
	}
	if id == "" || strings.ContainsAny(id, " \t\n") {
		return owner{}, fmt.Errorf("owner id %q: a non-empty word, such as prod or contoso-partners", id)
	}
	suffix := strings.TrimPrefix(attribute, "extensionAttribute")
	return owner{attribute: attribute, mark: Mark(id),
		get: "GetExtensionAttribute" + suffix, set: "SetExtensionAttribute" + suffix}, nil
}

// selectField is the $select entry that returns the mark.
func (o owner) selectField() string { return "onPremisesExtensionAttributes" }

// owns reports whether the user carries this instance's mark.
func (o owner) owns(u models.Userable) bool {
	attrs := u.GetOnPremisesExtensionAttributes()
	if attrs == nil {
		return false
	}
	out := reflect.ValueOf(attrs).MethodByName(o.get).Call(nil)
	v, _ := out[0].Interface().(*string)
	return v != nil && *v == o.mark
}

// stamp puts the mark on a user body.
func (o owner) stamp(u models.Userable) {
	attrs := models.NewOnPremisesExtensionAttributes()
	mark := o.mark
	reflect.ValueOf(attrs).MethodByName(o.set).Call([]reflect.Value{reflect.ValueOf(&mark)})
	u.SetOnPremisesExtensionAttributes(attrs)
}
