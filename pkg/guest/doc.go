// Package guest describes Microsoft Graph's guest users as guestsync
// writes them: the user properties a mapping may set, with the limits
// Graph documents for each, so that a mapping and the Graph target refuse
// a value before Graph would.
package guest
