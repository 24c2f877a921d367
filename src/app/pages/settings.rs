use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    CreateToken, CreateUser, DeleteUser, RevokeToken, SetUserRole, TenantAdmin, load_tenant_admin,
};
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, error_message};
use crate::protocol::{TokenView, UserView};

/// API tokens and users of the tenant (admins only; the server refuses anyone else).
#[component]
pub fn SettingsPage() -> impl IntoView {
    let text = use_text();
    let create_token = ServerAction::<CreateToken>::new();
    let revoke_token = ServerAction::<RevokeToken>::new();
    let create_user = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let delete_user = ServerAction::<DeleteUser>::new();
    let data = Resource::new(
        move || {
            (
                create_token.version().get(),
                revoke_token.version().get(),
                create_user.version().get(),
                set_role.version().get(),
                delete_user.version().get(),
            )
        },
        |_| load_tenant_admin(),
    );
    let actions = Actions {
        create_token,
        revoke_token,
        create_user,
        set_role,
        delete_user,
    };
    view! {
        <Title text=text.settings_title />
        <div class="page-head">
            <h1>{text.settings_title}</h1>
        </div>
        <crate::app::pages::AdminTabs />
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(data) => view! { <Admin data actions /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    create_token: ServerAction<CreateToken>,
    revoke_token: ServerAction<RevokeToken>,
    create_user: ServerAction<CreateUser>,
    set_role: ServerAction<SetUserRole>,
    delete_user: ServerAction<DeleteUser>,
}

/// The error of an action's latest result, if it failed.
fn failed<T>(result: Option<Result<T, crate::protocol::Problem>>) -> Option<String> {
    result.and_then(|r| r.err()).map(|e| error_message(&e))
}

#[component]
fn Admin(data: TenantAdmin, actions: Actions) -> impl IntoView {
    let text = use_text();
    let new_token = move || actions.create_token.value().get().and_then(|r| r.ok());
    let token_error = move || {
        failed(actions.create_token.value().get())
            .or_else(|| failed(actions.revoke_token.value().get()))
    };
    let user_error = move || {
        failed(actions.create_user.value().get())
            .or_else(|| failed(actions.set_role.value().get()))
            .or_else(|| failed(actions.delete_user.value().get()))
    };
    let tokens = data.tokens;
    let users = data.users;
    view! {
        <section class="panel settings" aria-labelledby="tokens-title">
            <div class="panel-head">
                <h2 id="tokens-title">{text.tokens_title}</h2>
            </div>
            <p class="muted">{text.tokens_intro}</p>
            <ActionForm action=actions.create_token attr:class="inline-fields">
                <label class="field">
                    <span>{text.token_name}</span>
                    <input name="name" required maxlength="100" placeholder="billing script" />
                </label>
                <button type="submit" class="button button-primary">{text.create_token}</button>
            </ActionForm>
            {move || new_token().map(|token| view! {
                <div class="notice notice-ok" role="status">
                    <p>{text.token_created}</p>
                    <code class="secret" data-testid="new-token">{token}</code>
                </div>
            })}
            {move || token_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <div class="table-wrap">
                <table class="data tokens">
                    <thead>
                        <tr>
                            <th scope="col">{text.col_name}</th>
                            <th scope="col">{text.col_created}</th>
                            <th scope="col">{text.col_last_used}</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        {tokens.into_iter().map(|token| view! { <TokenRow token actions /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>

        <section class="panel settings" aria-labelledby="users-title">
            <div class="panel-head">
                <h2 id="users-title">{text.users_title}</h2>
            </div>
            <ActionForm action=actions.create_user attr:class="inline-fields">
                <label class="field">
                    <span>{text.username}</span>
                    <input name="username" required autocomplete="off" />
                </label>
                <label class="field">
                    <span>{text.password}</span>
                    <input name="password" type="password" required minlength="10" autocomplete="new-password" />
                </label>
                <label class="field">
                    <span>{text.col_role}</span>
                    <RoleSelect name="role" selected="operator".to_owned() />
                </label>
                <button type="submit" class="button button-primary">{text.add_user}</button>
            </ActionForm>
            {move || user_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            <div class="table-wrap">
                <table class="data users">
                    <thead>
                        <tr>
                            <th scope="col">{text.username}</th>
                            <th scope="col">{text.col_role}</th>
                            <th scope="col">{text.col_created}</th>
                            <th scope="col"></th>
                        </tr>
                    </thead>
                    <tbody>
                        {users.into_iter().map(|user| view! { <UserRow user actions /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn RoleSelect(name: &'static str, selected: String) -> impl IntoView {
    let text = use_text();
    view! {
        <select name=name>
            {["admin", "operator", "viewer"]
                .into_iter()
                .map(|role| view! { <option value=role selected=selected == role>{(text.role)(role)}</option> })
                .collect_view()}
        </select>
    }
}

#[component]
fn TokenRow(token: TokenView, actions: Actions) -> impl IntoView {
    let text = use_text();
    let id = token.id.to_string();
    let revoked = token.revoked_at.is_some();
    view! {
        <tr class:revoked=revoked>
            <td data-label=text.col_name>{token.name.clone()}</td>
            <td data-label=text.col_created class="muted"><LocalTime at=token.created_at /></td>
            <td data-label=text.col_last_used class="muted">
                {token.last_used_at.map(|at| view! { <LocalTime at /> }.into_any()).unwrap_or_else(|| text.never.into_any())}
            </td>
            <td>
                {if revoked {
                    view! { <span class="badge badge-cancelled">{text.revoked}</span> }.into_any()
                } else {
                    view! {
                        <button
                            type="button"
                            class="button button-small button-danger"
                            on:click=move |_| {
                                actions.revoke_token.dispatch(RevokeToken { id: id.clone() });
                            }
                        >
                            {text.revoke}
                        </button>
                    }
                        .into_any()
                }}
            </td>
        </tr>
    }
}

#[component]
fn UserRow(user: UserView, actions: Actions) -> impl IntoView {
    let text = use_text();
    let id = user.id.to_string();
    let change_id = id.clone();
    view! {
        <tr>
            <td data-label=text.username>{user.username.clone()}</td>
            <td data-label=text.col_role>
                <span
                    class="role-select"
                    on:change=move |ev| {
                        actions.set_role.dispatch(SetUserRole { id: change_id.clone(), role: event_target_value(&ev) });
                    }
                >
                    <RoleSelect name="role" selected=user.role.clone() />
                </span>
            </td>
            <td data-label=text.col_created class="muted"><LocalTime at=user.created_at /></td>
            <td>
                <button
                    type="button"
                    class="button button-small button-danger"
                    on:click=move |_| {
                        actions.delete_user.dispatch(DeleteUser { id: id.clone() });
                    }
                >
                    {text.remove}
                </button>
            </td>
        </tr>
    }
}
