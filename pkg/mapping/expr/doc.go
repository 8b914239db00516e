// Package expr compiles and evaluates attribute-mapping expressions written
// in Microsoft Entra's provisioning expression language, such as
//
//	Join("@", NormalizeDiacritics(StripSpaces([givenName])), "partners.contoso.com")
//
// so that mappings written for Entra provisioning and cloud sync work here
// unchanged, with the semantics Microsoft documents. Compile parses and
// checks an expression once, reporting every problem with its line and
// column; Eval then runs it against one directory entry at a time through
// an Env.
//
// The syntax: [attribute] references (case-insensitive), "string"
// constants with backslash escapes (\" \\ \n \r \t), whole numbers
// including VB hexadecimal (&HF7), the bare words True, False and Null and
// enumeration constants (vbTextCompare), comparisons (= <> < <= > >=) and
// VB's & concatenation, and calls of the functions of the documented list,
// whose names are case-insensitive and whose arguments may be left empty
// where the documentation allows it.
//
// Values are Null, strings, multi-valued strings, integers, Booleans and
// date/times (UTC, written M/d/yyyy h:mm:ss tt as documented); Null is
// distinct from the empty string. Where the documentation is silent, the
// functions follow VB and .NET, and say so where they are defined;
// mappings/EXPRESSIONS.md lists those choices for mapping authors, and its
// examples are tests of this package.
//
// What an evaluation needs from outside comes through an Evaluator: the
// clock (Now and the date functions), randomness (Guid, RandomString) and
// the tenant's answer to "is this value free?" (SelectUniqueValue). An Expr
// also says what its caller must know: UsesSelectUniqueValue, and Redacts
// for values that must not be shown.
package expr
