// Marks the page as scripted before it is painted, as the GOV.UK template
// does, so GOV.UK Frontend's enhancements (conditional reveals) take over.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
