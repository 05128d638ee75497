defmodule Throng.StateMachine do
  @moduledoc """
  A behaviour and client API for state machines that run as Throng sessions.

  `Throng.StateMachine` is to Throng what `GenStateMachine` is to
  `:gen_statem`: the same callbacks, the same `use` defaults and the same
  functions, name for name. A module written for `GenStateMachine` runs as a
  session once `use GenStateMachine` reads `use Throng.StateMachine`, its
  client calls name `Throng.StateMachine`, and the few calls that need a pid
  use their replacements (see "Sessions are not processes"). What
  `start_link/3` returns is not a pid but a *session*, a term of the form
  `{:throng, engine, id}` whose state, data, event queue, postponed events
  and time-outs live in Throng's engine rather than in a process. The
  callbacks run in the engine's executor processes, or, for an idle session,
  in the process that sends the event (the engine option `:inline`: by
  default a `call/3` that may wait for ever; casts too with `inline: :all`).

  ## Example

  A switch that can be flipped on and off, and that counts how many times it
  was turned on. In the default `:handle_event_function` callback mode every
  event goes to `c:handle_event/4`:

      iex> defmodule Switch do
      ...>   use Throng.StateMachine
      ...>
      ...>   def handle_event(:cast, :flip, :off, data) do
      ...>     {:next_state, :on, data + 1}
      ...>   end
      ...>
      ...>   def handle_event(:cast, :flip, :on, data) do
      ...>     {:next_state, :off, data}
      ...>   end
      ...>
      ...>   def handle_event({:call, from}, :get_count, state, data) do
      ...>     {:next_state, state, data, [{:reply, from, data}]}
      ...>   end
      ...> end
      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
      iex> Throng.StateMachine.call(switch, :get_count)
      1
      iex> Throng.StateMachine.stop(switch)
      :ok

  `start_link/3` takes the callback module and the argument of its
  `c:init/1`; the default `c:init/1` that `use Throng.StateMachine` defines
  takes a `{state, data}` tuple. A **call** waits for a reply; a **cast**
  does not.

  The same machine in the `:state_functions` callback mode, where an event
  goes to the function named after the current state:

      iex> defmodule Switch do
      ...>   use Throng.StateMachine, callback_mode: :state_functions
      ...>
      ...>   def off(:cast, :flip, data) do
      ...>     {:next_state, :on, data + 1}
      ...>   end
      ...>
      ...>   def off({:call, from}, :get_count, data) do
      ...>     {:keep_state_and_data, [{:reply, from, data}]}
      ...>   end
      ...>
      ...>   def on(:cast, :flip, data) do
      ...>     {:next_state, :off, data}
      ...>   end
      ...>
      ...>   def on({:call, from}, :get_count, data) do
      ...>     {:keep_state_and_data, [{:reply, from, data}]}
      ...>   end
      ...> end
      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
      iex> Throng.StateMachine.call(switch, :get_count)
      1
      iex> Throng.StateMachine.stop(switch)
      :ok

  ## Callbacks

  `use Throng.StateMachine` defines, and lets you override:

    * `callback_mode/0`, returning the `:callback_mode` option
      (default `:handle_event_function`);
    * `c:init/1`: `{state, data}` gives `{:ok, state, data}`;
    * `c:terminate/3`: returns `:ok`;
    * `c:code_change/4`: returns `:undefined`, which fails a code change
      (`change_code/4` returns `{:error, :undefined}`): write your own if you
      need one;
    * in the `:handle_event_function` mode, a `c:handle_event/4` that stops
      the session with reason `:bad_event`. Its clause goes away once you
      define `handle_event/4` yourself; call `super/4` from a last clause to
      keep it.

  In the `:state_functions` mode you write one function per state, as
  above. The callbacks are `:gen_statem`'s, so a module that uses
  `Throng.StateMachine` runs on `:gen_statem` unchanged as well.

  ## State enter calls

  With `:state_enter` in the callback mode, the machine is called with the
  event type `:enter` (and the previous state as the content) each time it
  enters a state, including the initial state:

      iex> defmodule Switch do
      ...>   use Throng.StateMachine, callback_mode: [:handle_event_function, :state_enter]
      ...>
      ...>   def handle_event(:enter, _old_state, state, data) do
      ...>     {:next_state, state, %{data | enters: data.enters + 1}}
      ...>   end
      ...>
      ...>   def handle_event(:cast, :flip, :off, data) do
      ...>     {:next_state, :on, %{data | flips: data.flips + 1}}
      ...>   end
      ...>
      ...>   def handle_event(:cast, :flip, :on, data) do
      ...>     {:next_state, :off, data}
      ...>   end
      ...>
      ...>   def handle_event({:call, from}, :get_count, _state, data) do
      ...>     {:keep_state_and_data, [{:reply, from, data}]}
      ...>   end
      ...> end
      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, %{enters: 0, flips: 0}})
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
      iex> Throng.StateMachine.call(switch, :get_count)
      %{enters: 3, flips: 1}
      iex> Throng.StateMachine.stop(switch)
      :ok

  See [`:gen_statem`'s state enter calls](https://www.erlang.org/doc/man/gen_statem.html#type-state_enter)
  for the rules.

  ## Client and server in one module

  As with any behaviour, the client functions usually live next to the
  callbacks; a last `handle_event/4` clause can hand unknown events to the
  default implementation with `super/4`:

      iex> defmodule Switch do
      ...>   use Throng.StateMachine
      ...>
      ...>   # Client
      ...>
      ...>   def start_link, do: Throng.StateMachine.start_link(__MODULE__, {:off, 0})
      ...>   def flip(switch), do: Throng.StateMachine.cast(switch, :flip)
      ...>   def get_count(switch), do: Throng.StateMachine.call(switch, :get_count)
      ...>
      ...>   # Server (callbacks)
      ...>
      ...>   def handle_event(:cast, :flip, :off, data), do: {:next_state, :on, data + 1}
      ...>   def handle_event(:cast, :flip, :on, data), do: {:next_state, :off, data}
      ...>
      ...>   def handle_event({:call, from}, :get_count, _state, data) do
      ...>     {:keep_state_and_data, [{:reply, from, data}]}
      ...>   end
      ...>
      ...>   def handle_event(event_type, event_content, state, data) do
      ...>     super(event_type, event_content, state, data)
      ...>   end
      ...> end
      iex> {:ok, switch} = Switch.start_link()
      iex> Switch.flip(switch)
      :ok
      iex> Switch.get_count(switch)
      1
      iex> ref = Throng.StateMachine.monitor(switch)
      iex> Throng.StateMachine.cast(switch, :unexpected)
      :ok
      iex> receive do
      ...>   {:DOWN, ^ref, :throng, ^switch, reason} -> reason
      ...> end
      :bad_event

  (The session that stops with `:bad_event` logs an error report, as a
  `GenStateMachine` process would.)

  ## Name registration

  `start_link/3`, `start/3` and `start_monitor/3` register the session
  under the term given as `:name`, in the session's engine, until it stops.
  Every function that takes a session also takes:

    * an atom: the session registered under it in the default engine;
    * `{:name, name}`: the session registered as any term `name` in the
      default engine;
    * `{:name, engine, name}`: the session registered as `name` in
      `engine`.

  For example:

      iex> {:ok, _switch} = Throng.StateMachine.start_link(Switch, {:off, 0}, name: MySwitch)
      iex> Throng.StateMachine.cast(MySwitch, :flip)
      :ok
      iex> Throng.StateMachine.call(MySwitch, :get_count)
      1
      iex> Throng.StateMachine.start_link(Switch, {:off, 0}, name: MySwitch)
      {:error, {:already_started, Throng.StateMachine.whereis(MySwitch)}}
      iex> Throng.StateMachine.stop(MySwitch)
      :ok
      iex> Throng.StateMachine.whereis(MySwitch)
      nil

  A name is a plain term in one engine: `{:global, term}` and
  `{:via, module, term}` registration are not supported. A call to a name
  nobody holds exits with `:noproc`, and a cast to it returns `:ok`, as
  for a process name.

  ## Sessions are not processes

  A session has no pid and no mailbox. What a process-based machine does
  with its pid has a named replacement, with the same shape:

  | `GenStateMachine` / process | `Throng.StateMachine` |
  | --- | --- |
  | `send(pid, msg)`: an `:info` event | `send/2` |
  | `self()` in a callback | `self/0` |
  | `:erlang.start_timer(time, self(), msg)`, `:erlang.cancel_timer(ref)` in a callback | `start_timer/2`, `cancel_timer/1` |
  | `Process.monitor(pid)` in a callback | `monitor_process/1` |
  | `Process.monitor(pid)` of the machine | `monitor/1`: `{:DOWN, ref, :throng, session, reason}` |
  | `:sys.get_state/1`, `:sys.get_status/1`, `:sys.suspend/1`, `:sys.resume/1` | `get_state/1`, `get_status/1`, `suspend/1`, `resume/1` |
  | `:sys.change_code/4`, `:sys.replace_state/2` | `change_code/4`, `replace_state/2` |
  | the link to the starter | the starter *owns* a session made with `start_link/3`: it stops, with reason `:shutdown`, when the owner exits |

  plus `sync/1`, which returns once the session has handled every event sent
  to it before. A callback that sends itself a message:

      iex> defmodule Doorbell do
      ...>   use Throng.StateMachine
      ...>
      ...>   def handle_event(:cast, :press, :quiet, rings) do
      ...>     # A process would write send(self(), :ring).
      ...>     :ok = Throng.StateMachine.send(Throng.StateMachine.self(), :ring)
      ...>     {:next_state, :ringing, rings}
      ...>   end
      ...>
      ...>   def handle_event(:info, :ring, :ringing, rings) do
      ...>     {:next_state, :quiet, rings + 1}
      ...>   end
      ...> end
      iex> {:ok, bell} = Throng.StateMachine.start_link(Doorbell, {:quiet, 0})
      iex> Throng.StateMachine.cast(bell, :press)
      :ok
      iex> Throng.StateMachine.sync(bell)
      :ok
      iex> Throng.StateMachine.get_state(bell)
      {:quiet, 1}
      iex> Throng.StateMachine.stop(bell)
      :ok

  ## Differences from `GenStateMachine`

    * Start options are `:name`, `:engine` and `:timeout` (see
      `start_link/3`); any other option raises an `ArgumentError` (`:debug`,
      `:spawn_opt` and `:hibernate_after` are process options). Names live
      in an engine (see "Name registration").
    * `use Throng.StateMachine` defines no `child_spec/1`: a session is not a
      process, so it cannot be a supervisor's child. Start sessions from a
      supervised process, which then owns them. `use` accepts only the
      `:callback_mode` option.
    * `cast/2` and `send/2` return `{:error, :queue_full}` when the session
      already holds its engine's `max_queue_len` events (nothing is queued
      then): every limit in Throng is explicit.
    * Exits name `:throng`, not `:gen_statem`:
      `{reason, {:throng, :call, [session, request, timeout]}}`.
    * `get_status/1` returns a map, not `:sys`'s list; `c:format_status/1`
      or `c:format_status/2` formats it as it formats `:sys`'s (see
      `get_status/1`), and formats the error report of a session that
      crashes, with `[]` as the process dictionary. `get_status/1`,
      `change_code/4` and `replace_state/2` run these callbacks in the
      caller.
    * `change_code/4` suspends the session itself while `c:code_change/4`
      runs (`:sys.change_code/4` requires a suspended process), and resumes
      it unless it was suspended already.

  Throng's `docs/semantics.md` lists every difference from `:gen_statem`
  itself.
  """

  # send/2 and self/0 are functions of this module.
  import Kernel, except: [send: 2, self: 0]

  # A timeout argument is checked before anything is sent: as with
  # :gen_statem, a bad one raises and leaves the session as it was.
  defguardp is_timeout(timeout)
            when timeout == :infinity or (is_integer(timeout) and timeout >= 0)

  defguardp is_call_timeout(timeout)
            when is_timeout(timeout) or
                   (is_tuple(timeout) and tuple_size(timeout) == 2 and
                      elem(timeout, 0) in [:dirty_timeout, :clean_timeout] and
                      is_timeout(elem(timeout, 1)))

  @typedoc """
  A running session: `{:throng, engine, id}`. Treat it as opaque.
  """
  @type session :: :throng.session()

  @typedoc """
  How a session is addressed: the session itself, or its name (see "Name
  registration"): an atom, `{:name, name}` or `{:name, engine, name}`.
  """
  @type server_ref :: session | atom | {:name, term} | {:name, engine, term}

  @typedoc """
  The current state: any term in the `:handle_event_function` mode, an atom
  in the `:state_functions` mode.
  """
  @type state :: state_name | term

  @typedoc "A state in the `:state_functions` callback mode."
  @type state_name :: atom

  @typedoc "The machine's data: what a `GenServer`'s state is."
  @type data :: term

  @typedoc """
  Where an event came from: `{:call, from}` (`call/3`), `:cast` (`cast/2`),
  `:info` (`send/2`), `:timeout`, `{:timeout, name}`, `:state_timeout`
  (time-out actions), `:internal` (`:next_event` actions). See
  [`:gen_statem.event_type/0`](https://www.erlang.org/doc/man/gen_statem.html#type-event_type).
  """
  @type event_type :: :gen_statem.event_type()

  @typedoc "The content of an event: the request, message or time-out content."
  @type event_content :: term

  @typedoc """
  What `callback_mode/0` returns: `:handle_event_function` or
  `:state_functions`, alone or in a list with `:state_enter`.
  """
  @type callback_mode_result :: :gen_statem.callback_mode_result()

  @typedoc """
  A transition action, as in `:gen_statem`: `:postpone`, `:hibernate`,
  `{:reply, from, reply}`, `{:next_event, type, content}`, the event, state
  and generic time-outs, and the callback module changes. Actions apply in
  list order; events inserted with `:next_event` are handled before any
  other. See [`:gen_statem.action/0`](https://www.erlang.org/doc/man/gen_statem.html#type-action).
  """
  @type action :: :gen_statem.action()

  @typedoc "What an event callback returns (`:gen_statem.event_handler_result/1`)."
  @type event_handler_result(state) :: :gen_statem.event_handler_result(state)

  @typedoc "What a state enter call returns (`:gen_statem.state_enter_result/1`)."
  @type state_enter_result(state) :: :gen_statem.state_enter_result(state)

  @typedoc """
  A caller waiting in `call/3`, as its `{:call, from}` event carries it:
  `{pid, tag}`. `reply/2` (or `:gen_statem.reply/2`) answers it.
  """
  @type from :: :throng.from()

  @typedoc "A reply as an action or as an argument of `reply/1`."
  @type reply_action :: {:reply, from, term}

  @typedoc "An engine, as `:throng.start_engine/1` returns it."
  @type engine :: :throng.engine()

  @typedoc "A start option: see `start_link/3`."
  @type option :: {:name, term} | {:engine, engine} | {:timeout, timeout}

  @typedoc "What `start_link/3` and `start/3` return."
  @type on_start :: {:ok, session} | :ignore | {:error, term}

  @typedoc """
  A callback module, or a native machine (Rust code run by the engine,
  docs/native-machines.md) by its name: `{:native, :switch}`.
  """
  @type machine :: module | {:native, atom}

  @typedoc "A request sent with `send_request/2`."
  @type request_id :: :throng.request_id()

  @typedoc "An answer collected with `wait_response/2` or `receive_response/2`."
  @type response :: {:reply, term} | :timeout | {:error, {term, session}}

  ## Callbacks (those of :gen_statem)

  @doc """
  Returns the callback mode: `:handle_event_function` or `:state_functions`,
  optionally in a list with `:state_enter`.

  `use Throng.StateMachine` defines it from its `:callback_mode` option. It
  is read when the session starts and whenever its callback module changes.
  """
  @callback callback_mode() :: callback_mode_result

  @doc """
  Invoked when the session starts; `start_link/3` (or `start/3`) waits for
  it to return. `args` is the second argument of `start_link/3`.

    * `{:ok, state, data}` (or `{:ok, state, data, actions}`, which also runs
      `actions`) starts the session: `start_link/3` returns
      `{:ok, session}`.
    * `:ignore` makes `start_link/3` return `:ignore`; the session is gone.
    * `{:stop, reason}` makes `start_link/3` return `{:error, reason}`; the
      session is gone and `c:terminate/3` is not called.

  Any other value is a bad return: `start_link/3` returns
  `{:error, {:bad_return_from_init, value}}`. A thrown value counts as the
  return value.
  """
  @callback init(args :: term) :: :gen_statem.init_result(state)

  @doc """
  In the `:state_functions` mode, a function named after each state handles
  that state's events (and, with `:state_enter`, its enter calls, with
  `:enter` as the event type and the previous state as the content). A
  thrown value counts as the return value.

  See [`Module:StateName/3`](https://www.erlang.org/doc/man/gen_statem.html#Module:StateName-3).
  """
  @callback state_name(:enter, old_state_name :: state_name, data) ::
              state_enter_result(state_name)
  @callback state_name(event_type, event_content, data) :: event_handler_result(state_name)

  @doc """
  In the `:handle_event_function` mode (the default), handles every event
  (and, with `:state_enter`, every enter call, with `:enter` as the event
  type and the previous state as the content). A thrown value counts as the
  return value.

  See [`Module:handle_event/4`](https://www.erlang.org/doc/man/gen_statem.html#Module:handle_event-4).
  """
  @callback handle_event(:enter, old_state :: state, state, data) :: state_enter_result(state)
  @callback handle_event(event_type, event_content, state, data) :: event_handler_result(state)

  @doc """
  Invoked when the session stops: after a `:stop` or `:stop_and_reply`
  result, an exception or a bad return in a callback, `stop/3`, or the
  exit of the process that owns the session (reason `:shutdown`). It gets
  the reason and the current state and data; after an exception or a bad
  return, the state and data from before the event that caused it. The
  return value is ignored.

  Unless the reason is `:normal`, `:shutdown` or `{:shutdown, term}`, an
  error report is logged, as for a `:gen_statem` process.
  """
  @callback terminate(reason :: term, state, data) :: term

  @doc """
  Changes the state and data when the module's code is upgraded; returns
  `{:ok, new_state, new_data}` or a reason to fail. A thrown value counts as
  the return value.

  `change_code/4` calls it (`:sys.change_code/4` on a `:gen_statem`
  process). After `{:ok, new_state, new_data}`, `callback_mode/0` is read
  again. Any other return, or an exception, fails the code change and
  leaves the state and data as they were.
  """
  @callback code_change(old_vsn :: term | {:down, term}, state, data, extra :: term) ::
              {:ok, state, data} | (reason :: term)

  @doc """
  Formats the status (`get_status/1`, `:sys.get_status/1`) and the error
  report of a session that crashes, to hide or shorten its state and data.
  The map has the keys `:state`, `:data`, `:postponed`, `:timeouts`, `:log`
  and, for the error report, `:reason` and `:queue`; return it with the
  values changed (every key must stay). Called instead of
  `c:format_status/2` when both are defined (OTP 25 and later).

  `get_status/1` shows the returned `:state`, `:data` and `:timeouts`.
  """
  @callback format_status(status :: map) :: map

  @doc """
  The older form of `c:format_status/1`: `reason` is `:normal` for
  `get_status/1` (the result is shown as `:status`, in place of `:state`
  and `:data`) and `:terminate` for the error report (the result replaces
  `{state, data}`). The process dictionary is `[]` for a session. A thrown
  value counts as the return value.
  """
  @callback format_status(reason :: :normal | :terminate, pdict_state_and_data :: list) :: term

  @optional_callbacks state_name: 3, handle_event: 4, format_status: 1, format_status: 2

  @use_options [:callback_mode]

  @doc false
  defmacro __using__(opts) do
    quote location: :keep, bind_quoted: [opts: opts] do
      @behaviour Throng.StateMachine
      callback_mode = Throng.StateMachine.__callback_mode__!(opts)

      @doc false
      def callback_mode do
        unquote(Macro.escape(callback_mode))
      end

      @doc false
      def init({state, data}) do
        {:ok, state, data}
      end

      @doc false
      def terminate(_reason, _state, _data) do
        :ok
      end

      @doc false
      def code_change(_old_vsn, _state, _data, _extra) do
        :undefined
      end

      defoverridable init: 1, terminate: 3, code_change: 4

      if :handle_event_function in List.wrap(callback_mode) do
        @doc false
        def handle_event(_event_type, _event_content, _state, _data) do
          {:stop, :bad_event}
        end

        defoverridable handle_event: 4
      end
    end
  end

  @doc false
  @spec __callback_mode__!(keyword) :: callback_mode_result
  def __callback_mode__!(opts) do
    unless Keyword.keyword?(opts) do
      raise ArgumentError,
            "use Throng.StateMachine expects a keyword list of options, got: #{inspect(opts)}"
    end

    case Keyword.keys(opts) -- @use_options do
      [] ->
        Keyword.get(opts, :callback_mode, :handle_event_function)

      unknown ->
        raise ArgumentError,
              "use Throng.StateMachine accepts only the :callback_mode option, got: " <>
                "#{inspect(unknown)} (a session is not a process, so there is no child_spec/1 " <>
                "to pass options to)"
    end
  end

  ## Starting

  @doc """
  Starts a session of `module`, owned by the calling process.

  `module.init(args)` runs in an executor; this function returns when it
  has returned (see `c:init/1` for the results). The session stops, with
  reason `:shutdown`, when the calling process exits, as a `:gen_statem`
  process started with `start_link` exits with its linked parent.

  ## Options

    * `:name` - registers the session under this term in its engine, as
      described in "Name registration" (`nil`: no name). If the name is
      taken, the start returns `{:error, {:already_started, session}}`.
    * `:engine` - the engine to run the session in (as
      `:throng.start_engine/1` returns it); by default the engine the
      `:throng` application started.
    * `:timeout` - milliseconds (or `:infinity`, the default) that `c:init/1`
      may take; past that the session is stopped and `{:error, :timeout}`
      returned.

  Any other option raises an `ArgumentError`.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.get_state(switch)
      {:off, 0}

      iex> {:ok, engine} = :throng.start_engine(%{})
      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:on, 3}, engine: engine)
      iex> Throng.StateMachine.call(switch, :get_count)
      3
      iex> :throng.stop_engine(engine)
      :ok
  """
  @spec start_link(machine, term, [option]) :: on_start
  def start_link(module, args, opts \\ []) do
    :throng.start_link(module, args, start_options!(opts))
  end

  @doc """
  Starts a session of `module` that no process owns: it lives until it
  stops itself or `stop/3` stops it.

  Takes the options of `start_link/3`.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start(Switch, {:off, 0})
      iex> Throng.StateMachine.stop(switch)
      :ok
  """
  @spec start(machine, term, [option]) :: on_start
  def start(module, args, opts \\ []) do
    :throng.start(module, args, start_options!(opts))
  end

  @doc """
  Starts a session per element of `args_list`, as `start/3` each, and
  returns their results in order (`:throng.start_many/3`: native machines
  are started in batches). Takes `:engine` and `:timeout`; names raise.

  ## Examples

      iex> [{:ok, a}, {:ok, b}] = Throng.StateMachine.start_many({:native, :switch}, [{:off, 0}, {:on, 2}])
      iex> {Throng.StateMachine.call(a, :get_count), Throng.StateMachine.call(b, :get_count)}
      {0, 2}
  """
  @spec start_many(machine, [term], [option]) :: [on_start]
  def start_many(module, args_list, opts \\ []) do
    :throng.start_many(module, args_list, start_options!(opts))
  end

  @doc """
  A cast per `{session, message}`, in order per session, in as few engine
  calls as can be (`:throng.cast_many/1`): `:ok`, or `{:error, refused}`
  naming the events not queued and why.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start({:native, :switch}, {:off, 0})
      iex> Throng.StateMachine.cast_many([{switch, :flip}, {switch, :flip}, {switch, :flip}])
      :ok
      iex> Throng.StateMachine.call(switch, :get_count)
      2
  """
  @spec cast_many([{server_ref, term}]) :: :ok | {:error, [{session, term}]}
  def cast_many(events), do: :throng.cast_many(events)

  @doc """
  Starts a session that no process owns and monitors it, in one step (as
  `:gen_statem.start_monitor/3`): returns `{:ok, {session, monitor_ref}}`.

  Takes the options of `start_link/3`. See `monitor/1` for the `:DOWN`
  message.

  ## Examples

      iex> {:ok, {switch, ref}} = Throng.StateMachine.start_monitor(Switch, {:off, 0})
      iex> Throng.StateMachine.stop(switch, :shutdown)
      :ok
      iex> receive do
      ...>   {:DOWN, ^ref, :throng, ^switch, reason} -> reason
      ...> end
      :shutdown
  """
  @spec start_monitor(machine, term, [option]) ::
          {:ok, {session, reference}} | :ignore | {:error, term}
  def start_monitor(module, args, opts \\ []) do
    :throng.start_monitor(module, args, start_options!(opts))
  end

  defp start_options!(opts) when is_list(opts) do
    Enum.flat_map(opts, fn
      {:engine, engine} ->
        [engine: engine]

      {:timeout, timeout} when is_timeout(timeout) ->
        [timeout: timeout]

      {:timeout, timeout} ->
        raise ArgumentError,
              "the :timeout option must be a non-negative integer or :infinity, got: " <>
                inspect(timeout)

      {:name, {:global, _} = name} ->
        raise ArgumentError, unsupported_name(name)

      {:name, {:via, _, _} = name} ->
        raise ArgumentError, unsupported_name(name)

      # As for GenStateMachine (and GenServer), a nil name is no name.
      {:name, nil} ->
        []

      {:name, name} ->
        [name: name]

      {key, _value} when is_atom(key) ->
        raise ArgumentError,
              "unknown option #{inspect(key)}: a session takes :name, :engine and :timeout"

      other ->
        raise ArgumentError, "expected a keyword list of options, got: #{inspect(other)}"
    end)
  end

  defp start_options!(opts) do
    raise ArgumentError, "expected a keyword list of options, got: #{inspect(opts)}"
  end

  defp unsupported_name(name) do
    "Throng names are terms registered in one engine; :global and :via " <>
      "registration are not supported (got name: #{inspect(name)})"
  end

  # An atom names a session of the default engine, as an atom names a
  # locally registered process. An exit then names the atom the caller
  # gave, as :gen_statem's exits name the server reference they were given.
  defp with_ref(name, fun) when is_atom(name) do
    fun.({:name, name})
  catch
    :exit, {reason, {:throng, function, [{:name, ^name} | args]}} ->
      :erlang.raise(:exit, {reason, {:throng, function, [name | args]}}, __STACKTRACE__)
  end

  defp with_ref(server, fun), do: fun.(server)

  defp ref(name) when is_atom(name), do: {:name, name}
  defp ref(server), do: server

  ## Events

  @doc """
  Sends `request` to the session as a `{:call, from}` event and waits for
  the reply.

  `timeout` is in milliseconds, or `:infinity` (the default);
  `:gen_statem`'s `{:dirty_timeout, timeout}` and `{:clean_timeout, timeout}`
  are accepted too, and mean the same (a session needs no proxy process).
  The caller exits as a `:gen_statem` caller does, with
  `{reason, {:throng, :call, [session, request, timeout]}}`, where `reason`
  is the session's exit reason if it stops before replying, `:noproc` if
  there is no such session, `:queue_full` if it holds its engine's
  `max_queue_len` events, `:calling_self` if a callback calls its own
  session, and `:timeout` if no reply came in time.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.call(switch, :get_count)
      0
      iex> Throng.StateMachine.stop(switch)
      :ok
      iex> try do
      ...>   Throng.StateMachine.call(switch, :get_count, 1_000)
      ...> catch
      ...>   :exit, reason -> reason
      ...> end
      {:noproc, {:throng, :call, [switch, :get_count, 1_000]}}
  """
  @spec call(server_ref, term, timeout | {:dirty_timeout | :clean_timeout, timeout}) :: term
  def call(server, request, timeout \\ :infinity) when is_call_timeout(timeout) do
    with_ref(server, &:throng.call(&1, request, timeout))
  end

  @doc """
  Sends `request` to the session as a `:cast` event and returns at once.

  Returns `:ok` whether or not the session exists, as `:gen_statem.cast/2`
  does; `{:error, :queue_full}` if the session already holds its engine's
  `max_queue_len` events (the event is not queued then).

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
      iex> Throng.StateMachine.get_state(switch)
      {:on, 1}
  """
  @spec cast(server_ref, term) :: :ok | {:error, :queue_full}
  def cast(server, request) do
    :throng.cast(ref(server), request)
  end

  @doc """
  Sends `message` to the session as an `:info` event: what
  `send(pid, message)` is to a `:gen_statem` process.

  Returns as `cast/2` does. Inside a callback,
  `send(Throng.StateMachine.self(), message)` is how a session sends itself
  a message (see "Sessions are not processes" above).
  """
  @spec send(server_ref, term) :: :ok | {:error, :queue_full}
  def send(server, message) do
    :throng.send(ref(server), message)
  end

  @doc """
  Replies to callers: takes a `{:reply, from, reply}` tuple or a list of
  them, and sends the replies in order.

  Always returns `:ok`.
  """
  @spec reply([reply_action] | reply_action) :: :ok
  def reply(replies) do
    :throng.reply(replies)
  end

  @doc """
  Replies `reply` to the caller `from` (the `from` of a `{:call, from}`
  event).

  For the cases where the reply cannot be a `{:reply, from, reply}` action
  of the callback's result: a reply sent later, or from another process
  (`from` can be handed around). `:gen_statem.reply/2` does the same.
  Always returns `:ok`.

  ## Examples

  A call answered by a later cast:

      iex> defmodule Later do
      ...>   use Throng.StateMachine
      ...>
      ...>   def handle_event({:call, from}, :wait, :idle, nil), do: {:next_state, :waiting, from}
      ...>
      ...>   def handle_event(:cast, {:answer, answer}, :waiting, from) do
      ...>     :ok = Throng.StateMachine.reply(from, answer)
      ...>     {:next_state, :idle, nil}
      ...>   end
      ...> end
      iex> {:ok, later} = Throng.StateMachine.start_link(Later, {:idle, nil})
      iex> request = Throng.StateMachine.send_request(later, :wait)
      iex> Throng.StateMachine.cast(later, {:answer, 42})
      :ok
      iex> Throng.StateMachine.receive_response(request, 5_000)
      {:reply, 42}
  """
  @spec reply(from, term) :: :ok
  def reply(from, reply) do
    :throng.reply(from, reply)
  end

  @doc """
  Sends `request` as a `{:call, from}` event and returns at once, with an id
  to collect the reply with `wait_response/2`, `receive_response/2` or
  `check_response/2` (as `:gen_statem.send_request/2`).

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 7})
      iex> request = Throng.StateMachine.send_request(switch, :get_count)
      iex> Throng.StateMachine.wait_response(request, 5_000)
      {:reply, 7}
  """
  @spec send_request(server_ref, term) :: request_id
  def send_request(server, request) do
    :throng.send_request(ref(server), request)
  end

  @doc """
  Waits up to `timeout` (default `:infinity`) for the reply to a
  `send_request/2`.

  Returns `{:reply, reply}`, `:timeout` (the request stays pending: wait
  again later), or `{:error, {reason, session}}` when the session stopped
  (or never existed: `:noproc`). As `:gen_statem.wait_response/2`.
  """
  @spec wait_response(request_id, timeout) :: response
  def wait_response(request_id, timeout \\ :infinity) when is_timeout(timeout) do
    :throng.wait_response(request_id, timeout)
  end

  @doc """
  As `wait_response/2`, but a `:timeout` abandons the request: a reply
  that comes later is dropped. As `:gen_statem.receive_response/2`.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> :ok = Throng.StateMachine.stop(switch)
      iex> request = Throng.StateMachine.send_request(switch, :get_count)
      iex> Throng.StateMachine.receive_response(request, 5_000)
      {:error, {:noproc, switch}}
  """
  @spec receive_response(request_id, timeout) :: response
  def receive_response(request_id, timeout \\ :infinity) when is_timeout(timeout) do
    :throng.receive_response(request_id, timeout)
  end

  @doc """
  Tells whether `message`, received by the caller, answers `request_id`:
  `{:reply, reply}`, `{:error, {reason, session}}` (the session stopped),
  or `:no_reply` when the message is something else. As
  `:gen_statem.check_response/2`.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:on, 2})
      iex> request = Throng.StateMachine.send_request(switch, :get_count)
      iex> Throng.StateMachine.check_response(:unrelated, request)
      :no_reply
      iex> receive do
      ...>   message -> Throng.StateMachine.check_response(message, request)
      ...> end
      {:reply, 2}
  """
  @spec check_response(term, request_id) :: {:reply, term} | :no_reply | {:error, {term, session}}
  def check_response(message, request_id) do
    :throng.check_response(message, request_id)
  end

  ## System requests

  @doc """
  Stops the session with `reason` (default `:normal`) and waits up to
  `timeout` (default `:infinity`) for it to be gone.

  The request is handled in turn, after the events sent before it;
  `c:terminate/3` runs. Returns `:ok` if the session stopped with `reason`;
  otherwise the caller exits with the reason the session stopped with
  (`:noproc` if there was no such session, `:timeout` if it did not stop in
  time). As `:gen_statem.stop/3`, a reason other than `:normal`,
  `:shutdown` or `{:shutdown, term}` logs an error report.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.stop(switch, {:shutdown, :maintenance}, 5_000)
      :ok
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
  """
  @spec stop(server_ref, term, timeout) :: :ok
  def stop(server, reason \\ :normal, timeout \\ :infinity) when is_timeout(timeout) do
    :throng.stop(ref(server), reason, timeout)
  end

  @doc """
  Returns once the session has handled every event sent to it before, and
  no zero time-out is pending. A suspended session answers once resumed.

  Exits with `{reason, {:throng, :sync, [session]}}` if the session stops
  first or does not exist.
  """
  @spec sync(server_ref) :: :ok
  def sync(server) do
    with_ref(server, &:throng.sync/1)
  end

  @doc """
  Suspends the session, as `:sys.suspend/1`: it handles no more events
  until `resume/1`; they queue up (and a `call/3` waits). System requests
  (`get_state/1`, `stop/3`, ...) are still answered.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.suspend(switch)
      :ok
      iex> Throng.StateMachine.cast(switch, :flip)
      :ok
      iex> Throng.StateMachine.get_state(switch)
      {:off, 0}
      iex> Throng.StateMachine.resume(switch)
      :ok
      iex> Throng.StateMachine.sync(switch)
      :ok
      iex> Throng.StateMachine.get_state(switch)
      {:on, 1}
  """
  @spec suspend(server_ref) :: :ok
  def suspend(server) do
    with_ref(server, &:throng.suspend/1)
  end

  @doc """
  Resumes a session `suspend/1` suspended, as `:sys.resume/1`.
  """
  @spec resume(server_ref) :: :ok
  def resume(server) do
    with_ref(server, &:throng.resume/1)
  end

  @doc """
  Returns the session's `{state, data}`, as `:sys.get_state/1`.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.get_state(switch)
      {:off, 0}
  """
  @spec get_state(server_ref) :: {state, data}
  def get_state(server) do
    with_ref(server, &:throng.get_state/1)
  end

  @doc """
  Returns the session's status: a map with the keys `:state`, `:data`,
  `:queue_len`, `:postponed_len`, `:timeouts` (a list of `{type, content}`),
  `:modules` (the callback module stack), `:callback_mode` and `:suspended`.

  As `:sys.get_status/1`, it shows what the callback module's
  `c:format_status/1` makes of the state, data and time-outs; with
  `c:format_status/2` instead, the key `:status` holds what it returns, in
  place of `:state` and `:data`. If the callback fails, `:data` is the
  string `:gen_statem` shows (`"Module:format_status/1 crashed"`, ...).

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> status = Throng.StateMachine.get_status(switch)
      iex> Map.take(status, [:state, :data, :modules, :suspended])
      %{state: :off, data: 0, modules: [Switch], suspended: false}
  """
  @spec get_status(server_ref) :: %{atom => term}
  def get_status(server) do
    with_ref(server, &:throng.get_status/1)
  end

  @doc """
  Calls the callback module's `c:code_change/4` with the session's state
  and data, as `:sys.change_code/4` does for a suspended process, and
  returns `:ok` once the session has the new state and data (and the
  callback mode read again), or `{:error, reason}`: `reason` is what
  `c:code_change/4` returned, or `{:EXIT, reason}` for an exception. The
  session is left unchanged on an error.

  The session is suspended while `c:code_change/4` runs (in the caller),
  so no event is handled in between; it is resumed after, unless it was
  suspended before. As `:gen_statem`, the session's current callback
  module is called, whatever `module` says.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.change_code(switch, Switch, "1", :extra)
      {:error, :undefined}
  """
  @spec change_code(server_ref, module, term, term) :: :ok | {:error, term}
  def change_code(server, module, old_vsn, extra) do
    with_ref(server, &:throng.change_code(&1, module, old_vsn, extra))
  end

  @doc """
  Replaces the session's `{state, data}` with what `fun` returns for them,
  and returns it, as `:sys.replace_state/2`. This is not a state change:
  no state enter call, and postponed events stay postponed.

  `fun` runs in the caller, with the session suspended. If it raises, the
  session is left unchanged and this raises an `ErlangError` with
  `{:callback_failed, {:gen_statem, :system_replace_state}, {kind, reason}}`,
  as `:sys.replace_state/2` does.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start_link(Switch, {:off, 0})
      iex> Throng.StateMachine.replace_state(switch, fn {state, count} -> {state, count + 10} end)
      {:off, 10}
      iex> Throng.StateMachine.call(switch, :get_count)
      10
  """
  @spec replace_state(server_ref, ({state, data} -> {state, data})) :: {state, data}
  def replace_state(server, fun) when is_function(fun, 1) do
    with_ref(server, &:throng.replace_state(&1, fun))
  end

  ## Monitors

  @doc """
  Monitors the session: the caller gets
  `{:DOWN, ref, :throng, session, reason}` when it stops, at once with
  reason `:noproc` if it does not exist. What `Process.monitor/1` is to a
  process.

  ## Examples

      iex> {:ok, switch} = Throng.StateMachine.start(Switch, {:off, 0})
      iex> ref = Throng.StateMachine.monitor(switch)
      iex> Throng.StateMachine.stop(switch)
      :ok
      iex> receive do
      ...>   {:DOWN, ^ref, :throng, ^switch, reason} -> reason
      ...> end
      :normal
  """
  @spec monitor(server_ref) :: reference
  def monitor(server) do
    :throng.monitor(ref(server))
  end

  @doc """
  Removes a monitor made by `monitor/1` or `start_monitor/3`, and removes
  its `:DOWN` message from the caller's mailbox if it has come already.
  Returns `true`.
  """
  @spec demonitor(reference) :: true
  def demonitor(ref) do
    :throng.demonitor(ref)
  end

  @doc """
  Returns the session registered as `name` in the default engine, or `nil`.
  See "Name registration".
  """
  @spec whereis(term) :: session | nil
  def whereis(name) do
    nil_if_undefined(:throng.whereis(name))
  end

  @doc """
  Returns the session registered as `name` in `engine`, or `nil`.
  """
  @spec whereis(engine, term) :: session | nil
  def whereis(engine, name) do
    nil_if_undefined(:throng.whereis(engine, name))
  end

  ## Inside a callback

  @doc """
  Inside a callback, starts a timer for the session: after `time`
  milliseconds it gets the `:info` event `{:timeout, timer_ref, message}`.
  Returns `timer_ref`. What `:erlang.start_timer(time, self(), message)` is
  in a `:gen_statem` callback; the `:state_timeout` and `:timeout` actions
  need no replacement.

  Raises `ErlangError` (`{:not_in_a_callback, :start_timer}`) outside a
  callback.

  ## Examples

      iex> defmodule Kettle do
      ...>   use Throng.StateMachine
      ...>
      ...>   def handle_event({:call, from}, {:boil, ms}, :cold, nil) do
      ...>     # A process would write :erlang.start_timer(ms, self(), :boiled).
      ...>     _timer = Throng.StateMachine.start_timer(ms, :boiled)
      ...>     {:next_state, :heating, from}
      ...>   end
      ...>
      ...>   def handle_event(:info, {:timeout, _timer, :boiled}, :heating, from) do
      ...>     {:next_state, :hot, nil, [{:reply, from, :whistle}]}
      ...>   end
      ...> end
      iex> {:ok, kettle} = Throng.StateMachine.start_link(Kettle, {:cold, nil})
      iex> Throng.StateMachine.call(kettle, {:boil, 10})
      :whistle
      iex> Throng.StateMachine.get_state(kettle)
      {:hot, nil}
  """
  @spec start_timer(non_neg_integer, term) :: reference
  def start_timer(time, message) do
    :throng.start_timer(time, message)
  end

  @doc """
  Cancels a timer that `start_timer/2` started: returns the milliseconds it
  had left, or `false` if it had fired or was cancelled already (its
  message may then still arrive). As `:erlang.cancel_timer/1`.
  """
  @spec cancel_timer(reference) :: non_neg_integer | false
  def cancel_timer(timer_ref) do
    :throng.cancel_timer(timer_ref)
  end

  @doc """
  Inside a callback, makes the session monitor the process `pid`: when it
  exits, the session gets the `:info` event
  `{:DOWN, ref, :process, pid, reason}`. Returns `ref`. What
  `Process.monitor(pid)` is in a `:gen_statem` callback.

  Raises `ErlangError` (`{:not_in_a_callback, :monitor_process}`) outside
  a callback.

  ## Examples

  A call postponed until the watched process is gone:

      iex> defmodule Watcher do
      ...>   use Throng.StateMachine
      ...>
      ...>   def handle_event(:cast, {:watch, pid}, :idle, nil) do
      ...>     {:next_state, :watching, Throng.StateMachine.monitor_process(pid)}
      ...>   end
      ...>
      ...>   def handle_event(:info, {:DOWN, ref, :process, _pid, reason}, :watching, ref) do
      ...>     {:next_state, {:gone, reason}, nil}
      ...>   end
      ...>
      ...>   def handle_event({:call, _from}, :why, :watching, _ref) do
      ...>     {:keep_state_and_data, :postpone}
      ...>   end
      ...>
      ...>   def handle_event({:call, from}, :why, {:gone, reason}, nil) do
      ...>     {:keep_state_and_data, [{:reply, from, reason}]}
      ...>   end
      ...> end
      iex> {:ok, watcher} = Throng.StateMachine.start_link(Watcher, {:idle, nil})
      iex> pid = spawn(fn -> receive do: (:bye -> exit(:done)) end)
      iex> Throng.StateMachine.cast(watcher, {:watch, pid})
      :ok
      iex> Throng.StateMachine.sync(watcher)
      :ok
      iex> send(pid, :bye)
      iex> Throng.StateMachine.call(watcher, :why)
      :done
  """
  @spec monitor_process(pid) :: reference
  def monitor_process(pid) do
    :throng.monitor_process(pid)
  end

  @doc """
  Inside a callback, returns the session the callback runs for; elsewhere
  `nil`. What `self()` is in a `:gen_statem` callback (which, in a session's
  callback, is the pid of an executor or of the caller, not the session).
  """
  @spec self() :: session | nil
  def self do
    nil_if_undefined(:throng.self())
  end

  defp nil_if_undefined(:undefined), do: nil
  defp nil_if_undefined(session), do: session
end
