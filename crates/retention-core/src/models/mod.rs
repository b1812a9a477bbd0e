//! Likelihood models of customer behaviour, fitted by maximum likelihood: BG/NBD, MBG/NBD,
//! Pareto/NBD, BG/BB (purchases), Gamma-Gamma (spend), shifted-beta-geometric (contractual retention). One file
//! per model with its likelihood, fit and predictions, sharing one optimiser ([`fit`]) and one
//! set of special functions ([`special`]). Nothing here knows about HTTP.

pub mod backtest;
pub mod bgbb;
pub mod bgnbd;
pub mod bootstrap;
pub mod clv;
pub mod fit;
pub mod forecast;
pub mod gamma_gamma;
pub mod mbgnbd;
pub mod pareto_nbd;
pub mod pmf;
pub mod purchase;
pub mod report;
pub mod rfm;
pub mod sbg;
pub mod special;
pub mod spend;
pub mod uncertainty;
pub mod value;
