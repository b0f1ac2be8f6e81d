-- Orleans.Jobs schema, version 6: Orleans now keeps grain state, reminders and membership (migrations 3-5 create
-- its tables); the tables of the home-made runtime that came before it go. {schema} is the configured schema name.

drop table if exists {schema}.grain_state;
drop table if exists {schema}.reminders;
drop table if exists {schema}.silos;
