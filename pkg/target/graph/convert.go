package graph

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/schema"
)

// accessor reads and writes one Graph user property of the SDK model.
type accessor struct {
	get func(models.Userable) *string
	set func(models.Userable, *string)
}

// accessors covers every property in schema.Graph().Properties(); a test keeps the
// two in step.
var accessors = map[string]accessor{
	"accountEnabled": {
		get: func(u models.Userable) *string {
			if b := u.GetAccountEnabled(); b != nil {
				s := strconv.FormatBool(*b)
				return &s
			}
			return nil
		},
		set: func(u models.Userable, v *string) {
			b := v != nil && strings.EqualFold(*v, "true")
			u.SetAccountEnabled(&b)
		},
	},
	"city":              {func(u models.Userable) *string { return u.GetCity() }, func(u models.Userable, v *string) { u.SetCity(v) }},
	"companyName":       {func(u models.Userable) *string { return u.GetCompanyName() }, func(u models.Userable, v *string) { u.SetCompanyName(v) }},
	"country":           {func(u models.Userable) *string { return u.GetCountry() }, func(u models.Userable, v *string) { u.SetCountry(v) }},
	"department":        {func(u models.Userable) *string { return u.GetDepartment() }, func(u models.Userable, v *string) { u.SetDepartment(v) }},
	"displayName":       {func(u models.Userable) *string { return u.GetDisplayName() }, func(u models.Userable, v *string) { u.SetDisplayName(v) }},
	"employeeId":        {func(u models.Userable) *string { return u.GetEmployeeId() }, func(u models.Userable, v *string) { u.SetEmployeeId(v) }},
	"employeeType":      {func(u models.Userable) *string { return u.GetEmployeeType() }, func(u models.Userable, v *string) { u.SetEmployeeType(v) }},
	"givenName":         {func(u models.Userable) *string { return u.GetGivenName() }, func(u models.Userable, v *string) { u.SetGivenName(v) }},
	"jobTitle":          {func(u models.Userable) *string { return u.GetJobTitle() }, func(u models.Userable, v *string) { u.SetJobTitle(v) }},
	"mail":              {func(u models.Userable) *string { return u.GetMail() }, func(u models.Userable, v *string) { u.SetMail(v) }},
	"mailNickname":      {func(u models.Userable) *string { return u.GetMailNickname() }, func(u models.Userable, v *string) { u.SetMailNickname(v) }},
	"mobilePhone":       {func(u models.Userable) *string { return u.GetMobilePhone() }, func(u models.Userable, v *string) { u.SetMobilePhone(v) }},
	"officeLocation":    {func(u models.Userable) *string { return u.GetOfficeLocation() }, func(u models.Userable, v *string) { u.SetOfficeLocation(v) }},
	"postalCode":        {func(u models.Userable) *string { return u.GetPostalCode() }, func(u models.Userable, v *string) { u.SetPostalCode(v) }},
	"preferredLanguage": {func(u models.Userable) *string { return u.GetPreferredLanguage() }, func(u models.Userable, v *string) { u.SetPreferredLanguage(v) }},
	"state":             {func(u models.Userable) *string { return u.GetState() }, func(u models.Userable, v *string) { u.SetState(v) }},
	"streetAddress":     {func(u models.Userable) *string { return u.GetStreetAddress() }, func(u models.Userable, v *string) { u.SetStreetAddress(v) }},
	"surname":           {func(u models.Userable) *string { return u.GetSurname() }, func(u models.Userable, v *string) { u.SetSurname(v) }},
	"usageLocation":     {func(u models.Userable) *string { return u.GetUsageLocation() }, func(u models.Userable, v *string) { u.SetUsageLocation(v) }},
	"userPrincipalName": {func(u models.Userable) *string { return u.GetUserPrincipalName() }, func(u models.Userable, v *string) { u.SetUserPrincipalName(v) }},
}

// selectFields is the $select of every read: Graph returns most of the
// properties guestsync manages only when they are selected.
func selectFields() []string {
	out := []string{"id", "userType", "onPremisesImmutableId"}
	for _, p := range schema.Graph().Properties() {
		out = append(out, p.Name)
	}
	return out
}

// toGuest converts a Graph user to a Guest.
func toGuest(u models.Userable) account.Account {
	g := account.Account{Properties: map[string]string{}}
	if id := u.GetId(); id != nil {
		g.ID = *id
	}
	if a := u.GetOnPremisesImmutableId(); a != nil {
		g.Anchor = *a
	}
	for name, acc := range accessors {
		if v := acc.get(u); v != nil {
			g.Properties[name] = *v
		}
	}
	return g
}

// toUser converts the given properties of a guest to a Graph user body.
// Every request body of a user is built here, so this is where each value
// is checked against Graph's documented limits (schema.Property.Check, the
// table the mapping compiler also checks against): an object Graph would
// refuse fails alone, before a request exists, with every problem named,
// rather than costing a round trip or (a huge value) its whole batch.
func toUser(props map[string]string) (models.Userable, error) {
	u := models.NewUser()
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	sort.Strings(names)
	var problems []string
	for _, name := range names {
		acc, ok := accessors[name]
		p, known := schema.Graph().Lookup(name)
		if !ok || !known {
			problems = append(problems, fmt.Sprintf("property %s is not one guestsync writes", name))
			continue
		}
		v := props[name]
		if err := p.Check(v); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		acc.set(u, &v)
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return u, nil
}
