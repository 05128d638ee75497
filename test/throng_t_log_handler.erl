%%% A logger handler that forwards every log event to the process named in
%%% its config: `logger:add_handler(Id, throng_t_log_handler,
%%% #{config => #{pid => Pid}})' makes `Pid' receive `{throng_t_log, Event}'.
-module(throng_t_log_handler).

-export([log/2]).

log(Event, #{config := #{pid := Pid}}) ->
    Pid ! {throng_t_log, Event},
    ok.
