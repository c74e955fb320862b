// Shared vocabulary of the billing domain, one module per area; import from here. Pure: this
// file is imported by workflow code, so nothing it exports may have side effects.
export * from './vocabulary';
export type * from './event-data';
export type * from './billing-event';
export type * from './account-state';
export type * from './decision';
