package graphsim

import (
	"fmt"
	"net/http"
)

// graphError is an error the emulator answers with, in Graph's error body shape.
// Handlers return one instead of writing the response themselves so that the
// body, headers and statistics are produced in exactly one place.
type graphError struct {
	status  int
	code    string
	message string
	details []errorDetail
	headers map[string]string // extra response headers (Retry-After, x-ms-throttle-*)
}

func (e *graphError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message)
}

// errorDetail is one entry of error.details. Graph fills all three fields in
// current responses (older ones omitted message), so the emulator always does.
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target"`
}

// errorBody is Graph's error envelope. Graph docs, "Microsoft Graph error
// responses and resource types": {"error":{"code","message","innerError":{...}}},
// with "details" where the service gives them.
type errorBody struct {
	Error errorPayload `json:"error"`
}

type errorPayload struct {
	Code       string        `json:"code"`
	Message    string        `json:"message"`
	Details    []errorDetail `json:"details,omitempty"`
	InnerError innerError    `json:"innerError"`
}

// innerError.date has no zone suffix on Graph ("2021-05-18T19:03:10").
type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

const innerErrorDateLayout = "2006-01-02T15:04:05"

func newError(status int, code, message string, details ...errorDetail) *graphError {
	return &graphError{status: status, code: code, message: message, details: details}
}

// Error codes. Directory (Entra) errors use the Request_* family; errors raised
// while Graph's OData layer parses the URL or body use the plain names.
const (
	codeRequestBadRequest   = "Request_BadRequest"
	codeUnsupportedQuery    = "Request_UnsupportedQuery"
	codeResourceNotFound    = "Request_ResourceNotFound"
	codeBadRequest          = "BadRequest"
	codeInvalidAuthToken    = "InvalidAuthenticationToken"
	codeNotImplemented      = "NotImplemented"
	codeInvalidValue        = "InvalidValue"
	codeObjectConflict      = "ObjectConflict"
	codeConflictingObjects  = "ConflictingObjects"
	codeTooManyRequests     = "TooManyRequests"
	codeSyncStateNotFound   = "syncStateNotFound"
	msgRetryLater           = "Please retry again later."
	msgUnreadablePayload    = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
	msgMethodNotAllowed     = "Specified HTTP method is not allowed for the request target."
	msgPasswordComplexity   = "The specified password does not comply with password complexity requirements. Please provide a different password."
	msgUPNInvalid           = "Property userPrincipalName is invalid."
	msgSortingNotSupported  = "Sorting not supported for current query."
	msgCountNotSupported    = "$count is not currently supported."
	msgSearchNeedsEventual  = "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"
	msgMeNeedsDelegatedFlow = "/me request is only valid with delegated authentication flow."
	msgSyncStateNotFound    = "The sync state generation is not found. The delta token is expired and data must be synchronized again."
)

// errUnreadablePayload: Graph answers a body that is not a JSON object with
// 400 BadRequest and this message (seen in msgraph-sdk-go issue #203).
func errUnreadablePayload() *graphError {
	return newError(http.StatusBadRequest, codeBadRequest, msgUnreadablePayload)
}

// errMethodNotAllowed: Graph answers 405 with code Request_BadRequest and this
// message (Graph docs, "Combine multiple requests in one HTTP call using JSON
// batching", example response 4).
func errMethodNotAllowed() *graphError {
	return newError(http.StatusMethodNotAllowed, codeRequestBadRequest, msgMethodNotAllowed)
}

// errSegmentNotFound: Graph answers an unknown URL segment with 400 BadRequest
// "Resource not found for the segment 'x'." (not 404).
func errSegmentNotFound(segment string) *graphError {
	return newError(http.StatusBadRequest, codeBadRequest,
		fmt.Sprintf("Resource not found for the segment '%s'.", segment))
}

// errResourceNotFound: Graph docs, "Get user": an unknown id or UPN gives 404
// Request_ResourceNotFound with this message.
func errResourceNotFound(key string) *graphError {
	return newError(http.StatusNotFound, codeResourceNotFound,
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
}

// errRequired: a required property missing on create. Graph's message is
// "Property mailNickname value is required but is empty or missing."
// (msgraph MSGraph-SDK-Code-Generator issue #244, maintainer comment).
func errRequired(property string) *graphError {
	return newError(http.StatusBadRequest, codeRequestBadRequest,
		fmt.Sprintf("Property %s value is required but is empty or missing.", property))
}

// errCannotClear: a PATCH that clears a required property. Graph answers
// "A value is required for property 'displayName' of resource 'User'."
// (msgraph-sdk-dotnet issue #2561).
func errCannotClear(property string) *graphError {
	return newError(http.StatusBadRequest, codeRequestBadRequest,
		fmt.Sprintf("A value is required for property '%s' of resource 'User'.", property))
}

// errInvalidValue: Graph rejects a bad property value with "Invalid value
// specified for property 'mailNickname' of resource 'User'." and an
// InvalidValue detail naming the property (microsoft-graph-docs issue #5777).
func errInvalidValue(property string) *graphError {
	msg := fmt.Sprintf("Invalid value specified for property '%s' of resource 'User'.", property)
	return newError(http.StatusBadRequest, codeRequestBadRequest, msg,
		errorDetail{Code: codeInvalidValue, Message: msg, Target: property})
}

// errInvalidUPN: GRAPH.md and Graph's answer to an unverified domain: 400
// "Property userPrincipalName is invalid." with detail InvalidValue.
func errInvalidUPN() *graphError {
	return newError(http.StatusBadRequest, codeRequestBadRequest, msgUPNInvalid,
		errorDetail{Code: codeInvalidValue, Message: msgUPNInvalid, Target: "userPrincipalName"})
}

// errInvalidProperty: the directory rejects an unknown body property with
// Request_BadRequest "Invalid property 'x'." (PnP-Sites-Core issue #1807).
func errInvalidProperty(name string) *graphError {
	return newError(http.StatusBadRequest, codeRequestBadRequest, fmt.Sprintf("Invalid property '%s'.", name))
}

// errConflict: a uniqueness violation. Graph answers 400 Request_BadRequest
// "Another object with the same value for property X already exists." with
// an ObjectConflict detail for the property and a ConflictingObjects detail
// naming the other object (GRAPH.md; ADSyncTools docs for
// onPremisesImmutableId; microsoft-graph-docs-contrib issue #8421).
func errConflict(property, otherID string) *graphError {
	msg := fmt.Sprintf("Another object with the same value for property %s already exists.", property)
	return newError(http.StatusBadRequest, codeRequestBadRequest, msg,
		errorDetail{Code: codeObjectConflict, Message: msg, Target: property},
		errorDetail{Code: codeConflictingObjects, Message: msg, Target: "User_" + otherID})
}

// errUnsupportedFilter: Graph docs, "Advanced query capabilities on Microsoft
// Entra ID objects", error handling: 400 Request_UnsupportedQuery
// "Unsupported or invalid query filter clause specified for property 'x' of
// resource 'User'."
func (sc *schema) errUnsupportedFilter(property string) *graphError {
	return newError(http.StatusBadRequest, codeUnsupportedQuery,
		fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", property, sc.resource))
}

// errNoSuchProperty: Graph's OData layer rejects an unknown property in
// $select or $filter with "Could not find a property named 'x' on type
// 'microsoft.graph.user'." ($select adds the "Parsing OData Select and Expand
// failed: " prefix).
func (sc *schema) errNoSuchProperty(prefix, name string) *graphError {
	return newError(http.StatusBadRequest, codeBadRequest,
		fmt.Sprintf("%sCould not find a property named '%s' on type 'microsoft.graph.%s'.", prefix, name, sc.typeName))
}

// errNotEmulated marks a real Graph feature this emulator does not reproduce
// yet. 501 NotImplemented is a status Graph itself uses, and the message makes
// clear that the gap is the emulator's, not the client's.
func errNotEmulated(what string) *graphError {
	return newError(http.StatusNotImplemented, codeNotImplemented,
		fmt.Sprintf("graphsim does not emulate %s yet.", what))
}

// errSyncStateNotFound: a deltaLink past its lifetime. Microsoft 365
// Developer Blog, "Duration of change tracking tokens for identity and
// education resources" (2020-07-03): with a delta link used "more than seven
// days after the initial query, you will receive a BadRequest response with
// the error code 'syncStateNotFound' and the following error message: 'The
// sync state generation is not found. The delta token is expired and data
// must be synchronized again.'" Graph docs, "Microsoft Graph error responses
// and resource types", code property, lists syncStateNotFound with that
// text, and "Use delta query to track changes in Microsoft Graph data",
// token duration: "In case of an expired token, the service should respond
// with a 40X-series error with error codes such as syncStateNotFound." (The
// 410 Gone of the same page's "Synchronization reset" is another case: a
// reset for maintenance, with a Location header; not emulated.)
func errSyncStateNotFound() *graphError {
	return newError(http.StatusBadRequest, codeSyncStateNotFound, msgSyncStateNotFound)
}
