// Package linkage decides which of identity's subject records belong to one
// person, so that a consenting person's surveys can be followed across
// children's, adult and health services. It is pure domain: no I/O, no
// framework; the caller supplies records (with the consent flag) and
// stores the decisions.
//
// Why it is built this way:
//
//   - Deterministic rules first (a valid NHS number with the same date of
//     birth; the same local id within one organisation; an operator's
//     resolution): they are certain and cheap and settle most adult and
//     health records.
//   - Fellegi-Sunter for the rest, because children's social care rarely
//     records NHS numbers: each field is graded (exact, nickname, typo,
//     day-month swap, same postcode district, …), and each grade weighs
//     log2(m/u) bits. m (how often a grade occurs between one person's
//     records) is learnt by EM per blocking rule, blind to the fields the
//     rule fixes; u (how often between different people) from random
//     pairs; names agreeing exactly are adjusted for how common they are.
//   - Blocking, so a million records need tens of millions of comparisons,
//     not half a trillion: eight keys (NHS number, UPN, surname sound and
//     birth year, initial and birth date, …), each catching what the others
//     miss; each pair is compared once, blocks over a size cap skipped.
//   - Household rules over the weights, because the weights assume fields
//     independent and households share surname and address: twins are never
//     linked on their likeness, and pairs agreeing on nothing personal are at
//     most reviewed.
//   - Three bands by posterior probability (link, review, no link); links
//     closed transitively (union-find), never joining two different valid
//     NHS numbers. Every link and review keeps its field grades and weights,
//     so Model.Explain can say why, without repeating any identifier.
//
// The companion command services/identity/cmd/identity-linkbench and
// tools/linkbench measure it on tools/synthpop's synthetic populations.
package linkage
